"""Maintenance: device health and uptime, so a silent or unstable device becomes one alarm."""
