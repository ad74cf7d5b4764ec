"""Point of sale: transaction exports and webhooks into the cash domain; drop requests back."""

from __future__ import annotations

from bastion.integrations.pos.integration import PosConfig, PosIntegration

__all__ = ["PosConfig", "PosIntegration"]
