"""Bastion: security operations for high-risk, regulated facilities."""

__version__ = "0.1.0"
