"""Device JSON: bounded nesting and numbers, and nothing but BadPayload for bad input."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.integrations.payloads import BadPayload, loads, nesting_depth


def test_ordinary_messages_parse_as_json_does() -> None:
    text = '{"state": "on", "value": -12.5, "n": 3, "list": [1, {"a": null}], "s": "[{"}'
    assert loads(text.encode()) == json.loads(text)
    assert nesting_depth(text) == 3  # the brackets inside the string do not count


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"[" * 40 + b"]" * 40, "nested 40 levels deep"),
        (b"[" * 100_000, "nested 100000 levels deep"),
        (b"1" * 500, "a number 500 characters long"),
        (b"-" + b"1" * 31, "a number 32 characters long"),
        (b"1e400", "too large"),
        (b"[NaN]", "NaN is not a number"),
        (b"-Infinity", "-Infinity is not a number"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"a": ', "malformed JSON"),
    ],
)
def test_bad_payloads_say_why(raw: bytes, why: str) -> None:
    with pytest.raises(BadPayload, match=why):
        loads(raw)


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=200) | st.text(alphabet='[]{}",:0123456789.eE-+\\ntrufalsN', max_size=200)
)
def test_anything_either_parses_or_is_bad_payload(raw: bytes | str) -> None:
    with contextlib.suppress(BadPayload):
        loads(raw)
