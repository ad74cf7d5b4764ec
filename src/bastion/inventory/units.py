"""Units of measure and exact conversions (Decimal only; a float never holds a quantity).

Quantities are stored as integers of ten-thousandths of the package's own unit (the
4 decimal places Metrc and OpenTHC keep), so sums in SQL are exact on SQLite and
PostgreSQL alike. Conversions between mass (or volume) units are exact Decimal
arithmetic; the result is rounded half-even to 4 places only when stored.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from bastion.core.errors import InvalidInput

SCALE = 10_000
"""Stored quantity = quantity × SCALE (four decimal places)."""
QUANTUM = Decimal("0.0001")

MASS_G = {
    "g": Decimal(1),
    "mg": Decimal("0.001"),
    "kg": Decimal(1000),
    "lb": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
}
VOLUME_ML = {"ml": Decimal(1), "l": Decimal(1000)}
COUNT = {"each": Decimal(1)}
UNITS = (*MASS_G, *VOLUME_ML, *COUNT)

ALIASES = {
    "grams": "g",
    "gram": "g",
    "milligrams": "mg",
    "kilograms": "kg",
    "pounds": "lb",
    "ounces": "oz",
    "milliliters": "ml",
    "millilitres": "ml",
    "liters": "l",
    "litres": "l",
    "each": "each",
    "ea": "each",
}
METRC_NAME = {
    "g": "Grams",
    "mg": "Milligrams",
    "kg": "Kilograms",
    "lb": "Pounds",
    "oz": "Ounces",
    "ml": "Milliliters",
    "l": "Liters",
    "each": "Each",
}


def unit(name: str | None, *, where: str = "unit") -> str:
    """Return the canonical unit for ``name`` (g, mg, kg, lb, oz, ml, l, each) or refuse it."""
    key = (name or "").strip().lower()
    key = ALIASES.get(key, key)
    if key not in UNITS:
        raise InvalidInput(f"{where}: unknown unit {name!r} (use one of {', '.join(UNITS)})")
    return key


def dimension(u: str) -> str:
    """Return ``mass``, ``volume`` or ``count``."""
    if u in MASS_G:
        return "mass"
    if u in VOLUME_ML:
        return "volume"
    return "count"


def decimal(value: object, *, where: str = "quantity") -> Decimal:
    """Return ``value`` as a finite Decimal; floats go through their shortest text form."""
    try:
        out = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{where}: {value!r} is not a number") from None
    if not out.is_finite():
        raise InvalidInput(f"{where}: {value!r} is not a number")
    return out


def convert(quantity: Decimal, source: str, target: str) -> Decimal:
    """Convert exactly between units of one dimension; refuse mass ↔ volume ↔ count."""
    if source == target:
        return quantity
    if dimension(source) != dimension(target):
        raise InvalidInput(f"cannot convert {source} to {target}")
    table = MASS_G if source in MASS_G else VOLUME_ML
    return quantity * table[source] / table[target]


def to_stored(quantity: Decimal) -> int:
    """Return the stored integer of a quantity (rounded half-even to 4 places)."""
    return int(quantity.quantize(QUANTUM, rounding=ROUND_HALF_EVEN) * SCALE)


def from_stored(value: int) -> Decimal:
    """Return the Decimal of a stored integer quantity."""
    return (Decimal(value) / SCALE).quantize(QUANTUM)


def text(value: int, u: str) -> str:
    """Format a stored quantity for people: ``3.5 g``."""
    q = from_stored(value).normalize()
    return f"{q:f} {u}"
