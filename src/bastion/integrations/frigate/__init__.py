"""Frigate NVR: loitering and stationary-vehicle alarms from its MQTT events; PTZ presets."""

from __future__ import annotations

from bastion.integrations.frigate.integration import FrigateConfig, FrigateIntegration

__all__ = ["FrigateConfig", "FrigateIntegration"]
