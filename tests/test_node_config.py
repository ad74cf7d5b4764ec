"""The node configuration file: integrations for 'bastion serve', validated with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.core.errors import ConfigError
from bastion.integrations.frigate import FrigateConfig, FrigateIntegration
from bastion.integrations.mqtt import MqttConfig, MqttIntegration
from bastion.node_config import config_path, load_node_config, verify_sites

GOOD = """\
version: 1
integrations:
  - type: mqtt
    site_id: dispensary-main
    host: broker.example
    password: ${TEST_MQTT_PASSWORD}
  - type: frigate
    site_id: dispensary-main
    cameras: {dock_apron: cam-dock-apron}
health:
  sensor: {offline_grace_s: 60, startup_grace_s: 120}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bastion.yaml"
    path.write_text(text)
    return path


def test_a_good_file_gives_integrations_ready_to_set_up(tmp_path):
    config = load_node_config(_write(tmp_path, GOOD), environ={"TEST_MQTT_PASSWORD": "s3cret"})
    (mqtt, mqtt_cfg), (frigate, frigate_cfg) = config.integrations
    assert isinstance(mqtt, MqttIntegration) and isinstance(mqtt_cfg, MqttConfig)
    assert (mqtt_cfg.host, mqtt_cfg.password) == ("broker.example", "s3cret")
    assert isinstance(frigate, FrigateIntegration) and isinstance(frigate_cfg, FrigateConfig)
    assert config.health["sensor"].offline_grace_s == 60
    verify_sites(config, {"dispensary-main"})
    with pytest.raises(ConfigError, match="unknown site 'dispensary-main'") as err:
        verify_sites(config, {"cultivation-main"})
    assert err.value.field == "integrations.0.site_id"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        (GOOD.replace("host: broker.example", "hots: x"), "integrations.0.hots", "unknown field"),
        (GOOD.replace("type: frigate", "type: nvr"), "integrations.1.type", "unknown integration"),
        (GOOD.replace("    site_id: dispensary-main\n    cameras", "    cameras"), None, "missing"),
        (GOOD.replace("offline_grace_s: 60", "offline_grace_s: -1"), "health.sensor", "greater"),
        (GOOD.replace("sensor:", "toaster:"), "health.toaster", "reader"),
        (GOOD.replace("version: 1", "version: 7"), "version", "1"),
    ],
)
def test_mistakes_name_the_file_and_the_field(tmp_path, text, field, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_node_config(path, environ={"TEST_MQTT_PASSWORD": "s3cret"})
    assert message in str(err.value) and "bastion.yaml" in str(err.value)
    if field is not None:
        assert (err.value.field or "").startswith(field)
    assert "s3cret" not in str(err.value)


def test_a_missing_environment_variable_is_named(tmp_path):
    with pytest.raises(ConfigError, match="TEST_MQTT_PASSWORD is not set") as err:
        load_node_config(_write(tmp_path, GOOD), environ={})
    assert err.value.field == "integrations.0.password"


def test_bad_yaml_and_missing_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_node_config(_write(tmp_path, "integrations: [unclosed\n"))
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_node_config(_write(tmp_path, "- type: mqtt\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_node_config(tmp_path / "nope.yaml")


def test_the_data_directory_file_is_used_when_present(tmp_path):
    assert config_path(tmp_path, None) is None
    path = _write(tmp_path, GOOD)
    assert config_path(tmp_path, None) == path
    assert config_path(tmp_path, tmp_path / "other.yaml") == tmp_path / "other.yaml"
