"""Demo traffic: a compressed day of badge reads, held-open doors and a forced door at night."""

from __future__ import annotations

from bastion.integrations.simulator.integration import SimulatorConfig, SimulatorIntegration

__all__ = ["SimulatorConfig", "SimulatorIntegration"]
