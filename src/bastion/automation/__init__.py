"""Automation: cause-and-effect rules (triggers, conditions, actions), run modes, traces, arming."""
