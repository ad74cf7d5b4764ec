"""Access control: credentials, access levels, door policies and the in-memory decision engine."""

from bastion.access.engine import AccessEngine, Explanation, Step
from bastion.access.reasons import Reason

__all__ = ["AccessEngine", "Explanation", "Reason", "Step"]
