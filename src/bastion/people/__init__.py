"""People: employees, contractors and visitors who hold credentials (cardholders)."""
