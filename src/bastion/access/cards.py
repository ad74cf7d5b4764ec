"""Card data formats: turn what an operator enrols into the canonical string readers hash.

The canonical form matches the OSDP integration: ``raw:<bits>:<hex>`` for Wiegand and
raw reads (exactly ``bits`` bits, MSB first, parity included) and ``ascii:<text>``.
Only the keyed hash of the canonical string is ever stored.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from bastion.core.errors import InvalidInput

CARD_FORMATS = ("h10301", "h10304", "raw", "ascii")
"""Supported formats: HID 26-bit H10301, HID 37-bit H10304, raw bits, ASCII."""

MAX_CARD_BITS = 1024
_HEX = re.compile(r"^[0-9a-fA-F]+$")


@dataclass(frozen=True, slots=True)
class CardData:
    """A card ready to hash; ``repr`` never shows the number."""

    canonical: str
    format: str
    facility_code: int | None

    def __repr__(self) -> str:
        return f"CardData(format={self.format!r}, facility_code={self.facility_code!r})"


def _parity(value: int) -> int:
    return bin(value).count("1") & 1


def _wiegand(bits: int, fc: int, fc_bits: int, number: int, number_bits: int) -> str:
    """Return ``raw:<bits>:<hex>`` with leading even and trailing odd parity."""
    payload = (fc << number_bits) | number
    width = fc_bits + number_bits
    half = width // 2
    high = payload >> (width - half)
    low = payload & ((1 << (width - half)) - 1)
    even = _parity(high)
    odd = 1 - _parity(low)
    value = (even << (width + 1)) | (payload << 1) | odd
    return f"raw:{bits}:{value:0{(bits + 3) // 4}x}"


def _int(text: str, what: str, limit: int) -> int:
    if not text.isdigit():
        raise InvalidInput(f"malformed card data: {what} must be a decimal number")
    value = int(text)
    if not 0 <= value < limit:
        raise InvalidInput(f"malformed card data: {what} must be below {limit}")
    return value


def encode_card(fmt: str, *, number: str, facility_code: int | None = None) -> CardData:
    """Return the canonical card data of a card in format ``fmt``; raise InvalidInput."""
    if fmt == "h10301":
        if facility_code is None:
            raise InvalidInput("malformed card data: h10301 needs a facility code")
        fc = _int(str(facility_code), "facility code", 1 << 8)
        num = _int(number, "card number", 1 << 16)
        return CardData(_wiegand(26, fc, 8, num, 16), fmt, fc)
    if fmt == "h10304":
        if facility_code is None:
            raise InvalidInput("malformed card data: h10304 needs a facility code")
        fc = _int(str(facility_code), "facility code", 1 << 16)
        num = _int(number, "card number", 1 << 19)
        return CardData(_wiegand(37, fc, 16, num, 19), fmt, fc)
    if facility_code is not None:
        raise InvalidInput(f"malformed card data: format {fmt!r} has no facility code")
    if fmt == "raw":
        bits_text, sep, hex_text = number.partition(":")
        if not sep or not _HEX.match(hex_text):
            raise InvalidInput("malformed card data: raw cards are '<bits>:<hex>'")
        bits = _int(bits_text, "bit count", MAX_CARD_BITS + 1)
        value = int(hex_text, 16)
        if bits == 0 or value >> bits:
            raise InvalidInput("malformed card data: the value does not fit the bit count")
        return CardData(f"raw:{bits}:{value:0{(bits + 3) // 4}x}", fmt, None)
    if fmt == "ascii":
        if not number or len(number) > 128 or any(c not in string.printable for c in number):
            raise InvalidInput("malformed card data: ASCII cards are 1–128 printable characters")
        if not number.isprintable():
            raise InvalidInput("malformed card data: ASCII cards are printable characters")
        return CardData(f"ascii:{number}", fmt, None)
    raise InvalidInput(f"unknown card format {fmt!r}; expected one of {', '.join(CARD_FORMATS)}")


def parse_card(text: str) -> CardData:
    """Parse ``h10301:<fc>:<number>``, ``h10304:<fc>:<number>``, ``raw:<bits>:<hex>`` or ``ascii:<text>``."""
    fmt, sep, rest = text.partition(":")
    if not sep:
        raise InvalidInput("malformed card data: expected '<format>:…'")
    if fmt in ("h10301", "h10304"):
        fc_text, sep, number = rest.partition(":")
        if not sep:
            raise InvalidInput(f"malformed card data: expected '{fmt}:<facility>:<number>'")
        return encode_card(
            fmt, number=number, facility_code=_int(fc_text, "facility code", 1 << 16)
        )
    return encode_card(fmt, number=rest)


def validate_pin(pin: str) -> str:
    """Return ``pin`` when it is 4–12 digits; raise InvalidInput otherwise (never echo it)."""
    if not (4 <= len(pin) <= 12 and pin.isdigit()):
        raise InvalidInput("a PIN is 4 to 12 digits")
    return pin
