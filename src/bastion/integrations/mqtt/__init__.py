"""MQTT sensors: motion, contact, glass-break, panic and environmental, supervised and debounced."""

from __future__ import annotations

from bastion.integrations.mqtt.integration import MqttConfig, MqttIntegration

__all__ = ["MqttConfig", "MqttIntegration"]
