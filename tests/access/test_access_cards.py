"""Card data: enrolment produces what the OSDP reader hashes; malformed data is refused."""

from __future__ import annotations

import pytest

from bastion.access.cards import encode_card, parse_card, validate_pin
from bastion.core.errors import InvalidInput
from bastion.integrations.osdp.codec import decode_card


def _wiegand_event(bits: str) -> dict[str, object]:
    value = int(bits, 2)
    nbytes = (len(bits) + 7) // 8
    data = (value << (8 * nbytes - len(bits))).to_bytes(nbytes, "big")
    return {"format": 1, "length": len(bits), "data": data}


def test_h10301_matches_the_reader_canonical_form():
    # FC 18, card 12345: even parity, 8 FC bits, 16 card bits, odd parity.
    fc, number = format(18, "08b"), format(12345, "016b")
    payload = fc + number
    even = str(payload[:12].count("1") % 2)
    odd = str(1 - payload[12:].count("1") % 2)
    read = decode_card(_wiegand_event(even + payload + odd))
    assert read is not None
    card = encode_card("h10301", number="12345", facility_code=18)
    assert card.canonical == read.canonical
    assert parse_card("h10301:18:12345") == card
    assert "12345" not in repr(card)


def test_h10304_raw_and_ascii():
    card = encode_card("h10304", number="500000", facility_code=4000)
    assert card.canonical.startswith("raw:37:") and card.facility_code == 4000
    assert parse_card("raw:26:1ffffff").canonical == "raw:26:1ffffff"
    assert parse_card("ascii:BADGE-7").canonical == "ascii:BADGE-7"


@pytest.mark.parametrize(
    "text",
    [
        "h10301:256:1",
        "h10301:1:65536",
        "h10301:x:1",
        "h10301:12",
        "raw:26:zz",
        "raw:4:ff",
        "raw:0:0",
        "ascii:",
        "ascii:tab\there",
        "mifare:1",
        "nocolon",
    ],
)
def test_malformed_card_data_is_refused(text):
    with pytest.raises(InvalidInput, match="card"):
        parse_card(text)


def test_facility_code_rules():
    with pytest.raises(InvalidInput, match="needs a facility code"):
        encode_card("h10301", number="1")
    with pytest.raises(InvalidInput, match="has no facility code"):
        encode_card("raw", number="8:ff", facility_code=1)


def test_pin_rules():
    assert validate_pin("1234") == "1234"
    for bad in ("123", "12a4", "1" * 13):
        with pytest.raises(InvalidInput) as info:
            validate_pin(bad)
        assert bad not in str(info.value)
