"""Mass notification: contacts, call trees, templates, delivery through Apprise, escalation."""
