"""Input types that take what the client wrote, never a coerced guess.

Pydantic's lax mode turns ``false`` into the integer 0 (threat level "normal") and
``0.5`` into 1 January 1970; for a security console either reading is a silent
misunderstanding, so request fields use these types and such input is refused (422).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Strict

__all__ = ["Instant", "Whole"]

# An integer written as an integer: not a bool, a float or a string of digits.
Whole = Annotated[int, Strict()]

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _written_time(value: Any) -> Any:
    """Refuse numbers (Unix times) where an ISO 8601 date and time is expected."""
    if isinstance(value, bool | int | float):
        raise ValueError("expected an ISO 8601 date and time, e.g. 2026-03-07T15:00:00Z")
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        raise ValueError("expected an ISO 8601 date and time, e.g. 2026-03-07T15:00:00Z")
    return value


def _with_zone(value: datetime) -> datetime:
    """Refuse a time without a zone: which midnight it means would be a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give the time zone, e.g. 2026-03-07T15:00:00Z or +01:00")
    return value


# A date and time written out (ISO 8601) with its zone, never a bare number of seconds.
Instant = Annotated[datetime, BeforeValidator(_written_time), AfterValidator(_with_zone)]
