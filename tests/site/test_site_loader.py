from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bastion.core.errors import ConfigError
from bastion.site.loader import dump_site, load_site, load_site_file
from bastion.site.schemas import DeviceType, Layer, Site

SOURCE = "sites/test.yaml"

TextFactory = Callable[..., str]
LineOf = Callable[[str, str], int]


def load_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_site(text, source=SOURCE)
    return info.value


# --- happy paths ---------------------------------------------------------------------------


def test_dispensary_example_loads(example_site: Callable[[str], Site]) -> None:
    site = example_site("dispensary")
    assert site.site.id == "dispensary-main"  # the CLI tests export it by this id
    assert site.site.timezone == "America/Chicago"
    assert site.site.facility_type == "dispensary"
    zone_ids = {z.id for z in site.zones}
    assert {
        "parking",
        "lobby",
        "sales-floor",
        "back-of-house",
        "cash-room",
        "vault",
        "loading-dock",
        "server-room",
        "manager-office",
    } <= zone_ids
    assert {z.id for z in site.zones if z.always_armed} == {"vault", "cash-room"}
    assert {z.id for z in site.zones if z.camera_required} == {
        "parking",
        "lobby",
        "sales-floor",
        "vault",
        "cash-room",
        "loading-dock",
    }
    assert {s.id for s in site.schedules} == {
        "business-hours",
        "staff-hours",
        "delivery-window",
        "always",
    }
    years = {h.date.year for h in site.holiday_sets[0].holidays}
    assert years == {2026, 2027}


@pytest.mark.parametrize("name", ["dispensary", "cultivation"])
def test_example_devices_are_complete(example_site: Callable[[str], Site], name: str) -> None:
    site = example_site(name)
    cameras = [d for d in site.devices if d.type is DeviceType.CAMERA]
    covered = {zone for camera in cameras for zone in camera.covers}
    assert covered == {z.id for z in site.zones}
    controlled = {d.door for d in site.devices if d.door is not None}
    for door_id in controlled:
        types = {d.type for d in site.devices_of(door=door_id)}
        assert {DeviceType.CONTACT, DeviceType.REX} <= types, door_id
    readers = [d for d in site.devices if d.type is DeviceType.READER]
    assert readers and all(r.osdp is not None and r.side is not None for r in readers)
    env = [d for d in site.devices if d.type is DeviceType.ENVIRONMENTAL]
    assert env and all(d.thresholds and d.mqtt_topic for d in env)
    assert any(d.type is DeviceType.PANIC for d in site.devices)
    assert all(b.construction for b in site.barriers)
    # Every zone and door can be drawn on the plan.
    assert all(z.area is not None for z in site.zones)
    assert all(d.position is not None for d in site.doors)


def test_cultivation_example_loads(example_site: Callable[[str], Site]) -> None:
    site = example_site("cultivation")
    assert site.site.timezone == "America/Denver"
    assert site.site.facility_type == "cultivation"
    layers = {z.id: z.layer for z in site.zones}
    assert [layers[f"grow-{n}"] for n in (1, 2, 3)] == [Layer.RESTRICTED] * 3
    assert layers["vault"] is Layer.VAULT
    assert layers["yard"] is Layer.PERIMETER
    assert {"drying", "processing", "packaging", "loading-dock", "security-office"} <= set(layers)


@pytest.mark.parametrize("name", ["dispensary", "cultivation"])
def test_dump_round_trips(example_site: Callable[[str], Site], name: str) -> None:
    site = example_site(name)
    text = dump_site(site)
    again = load_site(text, source="dumped")
    assert again == site
    assert dump_site(again) == text  # stable output
    assert text.startswith("version: 1\nsite:\n")
    assert "fail: secure" not in text  # defaults are left out
    assert "from: " in text and "from_zone" not in text


def test_dump_quotes_times_for_other_yaml_tools(site_text: TextFactory) -> None:
    site = load_site(
        site_text(
            append=(
                "schedules:\n"
                "  - id: biz\n"
                "    name: Business\n"
                "    intervals:\n"
                "      - {days: [mon], start: 09:30, end: 17:45}\n"
            )
        )
    )
    plain = yaml.safe_load(dump_site(site))
    interval = plain["schedules"][0]["intervals"][0]
    assert interval == {"days": ["mon"], "start": "09:30", "end": "17:45"}


def test_bare_times_are_not_base_60_numbers(site_text: TextFactory) -> None:
    site = load_site(
        site_text(
            append=(
                "schedules:\n"
                "  - id: late\n"
                "    name: Late\n"
                "    intervals:\n"
                "      - {start: 17:30, end: 23:15}\n"
            )
        )
    )
    interval = site.schedules[0].intervals[0]
    assert (interval.start, interval.end) == (dt.time(17, 30), dt.time(23, 15))


def test_merge_keys_supply_defaults(site_text: TextFactory) -> None:
    text = site_text(
        replace={
            "  - id: front\n": "  - &front\n    id: front\n    strike_time_s: 3\n",
            "  - id: vault-door\n": "  - <<: *front\n    id: vault-door\n",
        }
    )
    door = load_site(text).door("vault-door")
    assert (door.strike_time_s, door.from_zone, door.to_zone) == (3, "lobby", "vault")


def test_load_site_file_reads_path(tmp_path: Path, site_text: TextFactory) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(site_text(), encoding="utf-8")
    site = load_site_file(path)
    assert [z.id for z in site.zones] == ["lobby", "vault"]


# --- failures: file, line and field ---------------------------------------------------------


def test_malformed_yaml(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"    name: Lobby\n": "    name: [Lobby\n"})
    error = load_error(text)
    assert error.file == SOURCE
    assert error.field is None
    assert error.line is not None and error.line >= line_of(text, "name: [Lobby")
    assert "invalid YAML" in error.message


def test_bad_indentation_points_at_the_line(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"    layer: vault\n": "      layer: vault\n"})
    error = load_error(text)
    assert (error.file, error.line, error.field) == (SOURCE, line_of(text, "layer: vault"), None)


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    error = load_error(text)
    assert (error.file, error.line, error.field) == (SOURCE, 1, None)
    assert "empty" in error.message


def test_top_level_must_be_a_mapping() -> None:
    error = load_error("# a list\n- zones\n- doors\n")
    assert (error.file, error.line, error.field) == (SOURCE, 2, None)
    assert "mapping" in error.message and "sequence" in error.message


def test_unknown_field(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"    layer: vault\n": "    layer: vault\n    colour: red\n"})
    error = load_error(text)
    assert (error.file, error.line, error.field) == (
        SOURCE,
        line_of(text, "colour"),
        "zones[vault].colour",
    )
    assert error.message == "unknown field 'colour'"


def test_unknown_top_level_section(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(append="cameras: []\n")
    error = load_error(text)
    assert (error.line, error.field) == (line_of(text, "cameras"), "cameras")


def test_wrong_type(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"    to: vault\n": "    to: vault\n    strike_time_s: soon\n"})
    error = load_error(text)
    assert (error.file, error.line, error.field) == (
        SOURCE,
        line_of(text, "strike_time_s"),
        "doors[vault-door].strike_time_s",
    )
    assert "'soon'" in error.message and "\n" not in error.message


def test_bad_layer_name(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"layer: vault": "layer: bunker"})
    error = load_error(text)
    assert (error.line, error.field) == (line_of(text, "bunker"), "zones[vault].layer")
    assert "unknown layer 'bunker'" in error.message


def test_missing_field_points_at_parent_mapping(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"    from: lobby\n": ""})
    error = load_error(text)
    assert (error.file, error.line, error.field) == (
        SOURCE,
        line_of(text, "id: vault-door"),
        "doors[vault-door].from",
    )
    assert error.message == "missing required field 'from'"


def test_missing_nested_field_points_at_its_key(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"  name: Test site\n": ""})
    error = load_error(text)
    assert (error.line, error.field) == (line_of(text, "site:"), "site.name")


def test_several_errors_report_the_first_and_count(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(
        replace={"    layer: building\n": "    layer: building\n    colour: red\n    size: 3\n"}
    )
    error = load_error(text)
    assert (error.line, error.field) == (line_of(text, "colour"), "zones[lobby].colour")
    assert error.message == "unknown field 'colour' (+1 more)"
    # Every problem is kept, each with its own line, for tools that list them all.
    assert [(p.line, p.field, p.own_message) for p in error.problems] == [
        (line_of(text, "colour"), "zones[lobby].colour", "unknown field 'colour'"),
        (line_of(text, "size: 3"), "zones[lobby].size", "unknown field 'size'"),
    ]


def test_a_misspelt_field_gets_a_suggestion(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"    layer: building\n": "    layr: building\n"})
    error = load_error(text)
    messages = {p.field: p.own_message for p in error.problems}
    assert messages["zones[lobby].layr"] == "unknown field 'layr'; did you mean 'layer'?"
    assert messages["zones[lobby].layer"] == "missing required field 'layer'"


def test_dangling_reference(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"    to: vault\n": "    to: vualt\n"})
    error = load_error(text)
    line = line_of(text, "vualt")
    assert (error.file, error.line, error.field) == (SOURCE, line, "doors[vault-door].to")
    assert str(error) == f"{SOURCE}:{line}: doors[vault-door].to: unknown zone 'vualt'"


def test_dangling_device_reference(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(
        append="devices:\n  - id: r1\n    type: reader\n    door: back-door\n    side: entry\n"
    )
    error = load_error(text)
    assert (error.line, error.field) == (line_of(text, "back-door"), "devices[r1].door")
    assert error.message == "unknown door 'back-door'"


def test_duplicate_id(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"  - id: vault\n": "  - id: lobby\n"})
    error = load_error(text)
    assert (error.line, error.field) == (line_of(text, "layer: vault") - 2, "zones[lobby].id")
    assert error.message == "duplicate id 'lobby'"


def test_duplicate_key(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"    name: Vault\n": "    name: Vault\n    name: Strongroom\n"})
    error = load_error(text)
    assert (error.file, error.line, error.field) == (
        SOURCE,
        line_of(text, "Strongroom"),
        "zones.1.name",
    )
    assert f"first given on line {line_of(text, 'Strongroom') - 1}" in error.message


def test_duplicate_top_level_section(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(append="zones: []\n")
    error = load_error(text)
    assert (error.line, error.field) == (line_of(text, "zones: []"), "zones")


def test_unreachable_zone(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(
        replace={
            "    layer: vault\n": "    layer: vault\n  - id: attic\n    name: Attic\n    layer: interior\n"
        }
    )
    error = load_error(text)
    assert (error.file, error.line, error.field) == (
        SOURCE,
        line_of(text, "id: attic"),
        "zones[attic]",
    )
    assert "'attic' cannot be reached from outside" in error.message


def test_zone_reachable_only_through_a_barrier_is_valid(site_text: TextFactory) -> None:
    text = site_text(
        replace={
            "    layer: vault\n": "    layer: vault\n  - id: attic\n    name: Attic\n    layer: interior\n"
        },
        append="barriers:\n  - {id: roof, name: Roof, kind: roof, from: outside, to: attic}\n",
    )
    assert load_site(text).zone("attic").layer is Layer.INTERIOR


def test_recursive_alias_is_refused(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(append="devices: &loop\n  - *loop\n")
    error = load_error(text)
    # An alias is the anchored node itself, so the anchor's line is the best we know.
    assert (error.line, error.field) == (line_of(text, "&loop"), "devices.0")
    assert error.message == "a YAML alias refers to itself"


def test_unsafe_tag_is_refused(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"name: Lobby": "name: !!python/object/apply:os.getcwd []"})
    error = load_error(text)
    line = line_of(text, "python/object")
    assert (error.file, error.line, error.field) == (SOURCE, line, "zones.0.name")
    assert "unsupported YAML tag" in error.message


def test_unknown_scalar_tag_is_refused(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"name: Vault\n": "name: !!python/name:os.getcwd ''\n"})
    error = load_error(text)
    line = line_of(text, "python/name")
    assert (error.file, error.line, error.field) == (SOURCE, line, "zones.1.name")
    assert "could not determine a constructor" in error.message


def test_several_documents_are_refused(site_text: TextFactory) -> None:
    text = site_text() + "---\nversion: 1\n"
    error = load_error(text)
    assert error.file == SOURCE and error.line == len(site_text().splitlines()) + 1
    assert "single document" in error.message


def test_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_site_file(path)
    assert (info.value.file, info.value.line, info.value.field) == (str(path), None, None)
    assert str(info.value) == f"{path}: file not found"


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_site_file(tmp_path)
    assert info.value.file == str(tmp_path)
    assert info.value.message.startswith("cannot read file")


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("site:\n  name: Caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as info:
        load_site_file(path)
    assert (info.value.file, info.value.message) == (str(path), "file is not UTF-8 text")


def test_file_errors_name_the_file(tmp_path: Path, site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(replace={"    to: vault\n": "    to: vualt\n"})
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_site_file(path)
    assert (
        str(info.value)
        == f"{path}:{line_of(text, 'vualt')}: doors[vault-door].to: unknown zone 'vualt'"
    )


def test_section_of_the_wrong_shape(site_text: TextFactory, line_of: LineOf) -> None:
    text = site_text(append="barriers:\n  fence: chain_link\n")
    error = load_error(text)
    assert (error.file, error.line, error.field) == (SOURCE, line_of(text, "barriers:"), "barriers")
    assert error.message == "Input should be a list (got a mapping)"


def test_top_level_scalar() -> None:
    error = load_error("\n\nhello\n")
    assert (error.file, error.line, error.field) == (SOURCE, 3, None)
    assert "not a scalar ('hello')" in error.message


@pytest.mark.parametrize("name", ["dispensary", "cultivation"])
def test_json_dump_validates_back(example_site: Callable[[str], Site], name: str) -> None:
    # The site service stores model_dump(mode="json"), where layers are numbers.
    site = example_site(name)
    data = site.model_dump(mode="json", by_alias=True)
    assert data["zones"][0]["layer"] == int(site.zones[0].layer)
    assert Site.model_validate(data) == site


def test_control_character_is_reported_with_its_line(site_text: TextFactory) -> None:
    text = site_text(replace={"name: Vault\n": "name: Va\x07ult\n"})
    error = load_error(text)
    assert (error.file, error.line, error.field) == (SOURCE, 11, None)
    assert "special characters are not allowed" in error.message
