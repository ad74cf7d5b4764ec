"""Read EASI worksheets (JSON) into typed inputs and write results as plain dicts.

Every error names the element and field, e.g. ``elements[2] 'Vault door': missing
field 'p_detection'``, so a worksheet can be fixed by hand.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError

from bastion.analysis.asd import SitePath
from bastion.analysis.coverage import CoverageReport
from bastion.analysis.easi import EasiOptions, EasiResult, Element, Location, Response
from bastion.analysis.paths import PathResult
from bastion.analysis.risk import CarverScore
from bastion.analysis.whatif import (
    AddSensor,
    Change,
    ChangeResponse,
    SetSensorPd,
    Upgrade,
    UpgradeConstruction,
    WhatIf,
)
from bastion.core.errors import InvalidInput
from bastion.site.schemas import Device

__all__ = [
    "LayerWorksheet",
    "PathWorksheet",
    "coverage_dict",
    "easi_dict",
    "load_json",
    "parse_carver",
    "parse_layers",
    "parse_options",
    "parse_path",
    "parse_upgrades",
    "path_dict",
    "site_path_dict",
    "whatif_dict",
]


@dataclass(frozen=True, slots=True)
class PathWorksheet:
    """A single-path EASI worksheet."""

    options: EasiOptions
    elements: tuple[Element, ...]


@dataclass(frozen=True, slots=True)
class LayerWorksheet:
    """A layered worksheet: one alternative is chosen per layer."""

    options: EasiOptions
    layers: tuple[tuple[Element, ...], ...]


def load_json(path: Path) -> Any:
    """Return the JSON document in ``path``, or raise InvalidInput naming the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path}: malformed JSON at line {exc.lineno}: {exc.msg}") from None


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: expected an object")
    return cast(Mapping[str, Any], value)


def _field(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise InvalidInput(f"{where}: missing field {key!r}")
    return data[key]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{where}: {value!r} is not a number")
    return float(value)


def parse_options(data: Any) -> EasiOptions:
    """Return the global EASI inputs of a worksheet."""
    doc = _mapping(data, "worksheet")
    response = _mapping(_field(doc, "response", "worksheet"), "response")
    mean = _number(_field(response, "mean", "response"), "response.mean")
    sd = _number(response.get("sd", 0.0), "response.sd")
    pc = _number(doc.get("p_communication", 1.0), "p_communication")
    return EasiOptions(
        Response(mean, sd),
        pc,
        doc.get("variance", "theta_squared"),
        doc.get("pc_placement", "global"),
    )


def _element(data: Any, where: str) -> Element:
    item = _mapping(data, where)
    name = item.get("name")
    label = f"{where} {name!r}" if isinstance(name, str) and name else where
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"{label}: missing field 'name'")
    p = _number(_field(item, "p_detection", label), f"{label} p_detection")
    location = item.get("location", "B")
    if location not in ("B", "M", "E"):
        raise InvalidInput(f"{label} location: {location!r} is not one of B, M, E")
    delay = _mapping(_field(item, "delay", label), f"{label} delay")
    mean = _number(_field(delay, "mean", f"{label} delay"), f"{label} delay.mean")
    sd = _number(delay.get("sd", 0.0), f"{label} delay.sd")
    try:
        return Element(name, p, cast(Location, location), mean, sd)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}") from None


def parse_path(data: Any) -> PathWorksheet:
    """Return a single-path worksheet."""
    options = parse_options(data)
    raw = _field(_mapping(data, "worksheet"), "elements", "worksheet")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("elements: expected a non-empty list of elements")
    return PathWorksheet(options, tuple(_element(e, f"elements[{i}]") for i, e in enumerate(raw)))


def parse_layers(data: Any) -> LayerWorksheet:
    """Return a layered worksheet; a layer without alternatives is an error."""
    options = parse_options(data)
    raw = _field(_mapping(data, "worksheet"), "layers", "worksheet")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("layers: expected a non-empty list of layers")
    layers: list[tuple[Element, ...]] = []
    for k, layer in enumerate(raw):
        if not isinstance(layer, list) or not layer:
            raise InvalidInput(f"layers[{k}]: a layer needs at least one alternative")
        layers.append(tuple(_element(e, f"layers[{k}][{i}]") for i, e in enumerate(layer)))
    return LayerWorksheet(options, tuple(layers))


def parse_carver(data: Any) -> list[CarverScore]:
    """Return CARVER scores from ``{"scale": 10, "targets": [{"target": ..., ...}]}``."""
    doc = _mapping(data, "carver")
    scale = doc.get("scale", 10)
    raw = _field(doc, "targets", "carver")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("targets: expected a non-empty list")
    scores: list[CarverScore] = []
    for i, item in enumerate(raw):
        entry = _mapping(item, f"targets[{i}]")
        name = _field(entry, "target", f"targets[{i}]")
        fields = {
            key: _field(entry, key, f"targets[{i}] {name!r}")
            for key in (
                "criticality",
                "accessibility",
                "recuperability",
                "vulnerability",
                "effect",
                "recognizability",
            )
        }
        scores.append(CarverScore(target=str(name), scale=scale, **fields))
    return scores


def _change(entry: Mapping[str, Any], where: str) -> Change:
    if "add_sensor" in entry:
        try:
            return AddSensor(Device.model_validate(entry["add_sensor"]))
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise InvalidInput(f"{where} add_sensor.{loc}: {first['msg']}") from None
    if "sensor_pd" in entry:
        spec = _mapping(entry["sensor_pd"], f"{where} sensor_pd")
        return SetSensorPd(
            str(_field(spec, "device", f"{where} sensor_pd")),
            _number(_field(spec, "p_detection", f"{where} sensor_pd"), f"{where} p_detection"),
        )
    if "construction" in entry:
        spec = _mapping(entry["construction"], f"{where} construction")
        return UpgradeConstruction(
            str(_field(spec, "item", f"{where} construction")),
            str(_field(spec, "construction", f"{where} construction")),
        )
    if "response" in entry:
        spec = _mapping(entry["response"], f"{where} response")
        values = {
            key: None if spec.get(key) is None else _number(spec[key], f"{where} response.{key}")
            for key in ("mean", "sd", "p_communication")
        }
        return ChangeResponse(values["mean"], values["sd"], values["p_communication"])
    raise InvalidInput(f"{where}: give one of add_sensor, sensor_pd, construction, response")


def parse_upgrades(data: Any) -> list[Upgrade]:
    """Return candidate upgrades from ``{"upgrades": [{"name", "cost"?, <change>}]}``."""
    raw = _field(_mapping(data, "upgrades file"), "upgrades", "upgrades file")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("upgrades: expected a non-empty list")
    out: list[Upgrade] = []
    for i, item in enumerate(raw):
        entry = _mapping(item, f"upgrades[{i}]")
        name = str(entry.get("name", f"upgrade {i}"))
        cost = entry.get("cost")
        out.append(
            Upgrade(
                name,
                _change(entry, f"upgrades[{i}] {name!r}"),
                None if cost is None else _number(cost, f"upgrades[{i}] cost"),
            )
        )
    return out


def easi_dict(result: EasiResult) -> dict[str, Any]:
    """Return a JSON-ready dict of an EASI result."""
    return {
        "p_interruption": result.p_interruption,
        "p_detection_cumulative": result.p_detection_cumulative,
        "p_communication": result.options.p_communication,
        "variance": result.options.variance,
        "pc_placement": result.options.pc_placement,
        "terms": [
            {
                "name": t.name,
                "p_first_detection": t.p_first_detection,
                "p_timely": t.p_timely,
                "contribution": t.contribution,
                "remaining_mean": t.remaining_mean,
                "remaining_sd": t.remaining_sd,
            }
            for t in result.terms
        ],
    }


def path_dict(result: PathResult) -> dict[str, Any]:
    """Return a JSON-ready dict of a scored path."""
    return {
        "p_interruption": result.p_interruption,
        "mode": result.mode,
        "path": list(result.choice),
        "elements": [e.name for e in result.elements],
        "edges": list(result.edge_ids),
        "critical_detection_point": result.critical_detection_point,
        "total_delay_s": result.total_delay_s,
        "labels_explored": result.labels_explored,
        "timeline": [
            {
                "name": s.name,
                "start_s": s.start_s,
                "end_s": s.end_s,
                "detection_s": s.detection_s,
                "remaining_s": s.remaining_s,
                "p_detection": s.p_detection,
                "timely": s.timely,
            }
            for s in result.timeline
        ],
        "terms": easi_dict(result.easi)["terms"],
    }


def site_path_dict(result: SitePath) -> dict[str, Any]:
    """Return a JSON-ready dict of a site's most vulnerable path."""
    out = path_dict(result.path)
    out["target"] = result.target
    out["steps"] = [
        {
            "item": s.item_id,
            "kind": s.kind,
            "method": s.defeat_method,
            "from": s.from_zone,
            "to": s.to_zone,
            "phase": s.phase,
            "sensors": list(s.sensors),
        }
        for s in result.steps
    ]
    return out


def coverage_dict(report: CoverageReport) -> dict[str, Any]:
    """Return a JSON-ready dict of a camera-coverage report."""
    return {
        "uncovered": report.uncovered,
        "zones": [
            {"zone": z.zone, "cameras": list(z.cameras), "fraction": z.fraction}
            for z in report.zones
        ],
    }


def whatif_dict(results: Sequence[WhatIf]) -> list[dict[str, Any]]:
    """Return JSON-ready rows of ranked upgrades."""
    return [
        {
            "name": r.upgrade.name,
            "cost": r.upgrade.cost,
            "p_interruption_before": r.before.p_interruption,
            "p_interruption_after": r.after.p_interruption,
            "delta": r.delta,
            "gain_per_cost": r.gain_per_cost,
            "mvp_after": [s.edge_id for s in r.after.steps],
        }
        for r in results
    ]
