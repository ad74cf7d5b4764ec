"""Alarms: lifecycle, priority, correlation into incidents, procedures (SOPs), reaction times."""
