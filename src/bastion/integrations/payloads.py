"""Parse JSON that devices send, refusing what would hurt us: deep nesting, endless numbers.

Python's ``json`` happily builds a 500-digit integer (which later overflows a float) and
recurses until ``RecursionError`` on deeply nested arrays. :func:`loads` checks the
nesting depth before parsing, bounds every number, and turns each problem into a
:class:`BadPayload` whose message says, in plain words, what was wrong.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
"""Deepest nesting of objects and arrays accepted; device messages are a few levels deep."""
MAX_DIGITS = 30
"""Longest number accepted, in characters: far beyond any reading, far below an overflow."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class BadPayload(ValueError):
    """A device message we refuse; the message says why, in plain words."""


def nesting_depth(text: str) -> int:
    """Return how deeply objects and arrays nest in JSON ``text`` (strings ignored)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _number_too_long(text: str) -> BadPayload:
    return BadPayload(f"a number {len(text)} characters long (limit {MAX_DIGITS})")


def _parse_int(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise _number_too_long(text)
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_DIGITS:
        raise _number_too_long(text)
    value = float(text)
    if not math.isfinite(value):
        raise BadPayload(f"the number {text} is too large")
    return value


def _parse_constant(name: str) -> Any:
    raise BadPayload(f"{name} is not a number")


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Return the parsed JSON of a device message, or raise :class:`BadPayload`."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadPayload("the message is not UTF-8 text") from None
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise BadPayload(f"nested {depth} levels deep (limit {max_depth})")
    try:
        return json.loads(
            raw,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except BadPayload:
        raise
    except RecursionError:  # the depth check above should make this unreachable
        raise BadPayload("nested too deeply") from None
    except ValueError as exc:
        raise BadPayload(f"malformed JSON ({_reason(exc)})") from None


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at character {exc.pos}"
    return str(exc)[:80]
