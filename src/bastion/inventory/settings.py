"""Per-deployment inventory thresholds (design defaults; the state figures cite compliance.md)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class InventorySettings:
    """Windows and thresholds the security checks and the reconciliation engine use."""

    badge_window_minutes: int = 30
    """A movement in a restricted zone needs a granted badge at its door this long before."""
    dual_over_g: Decimal = Decimal(100)
    """Destruction or a vault move above this mass (grams) needs a second, badged person."""
    dual_over_each: Decimal = Decimal(10)
    """…or above this many units for counted items."""
    dual_over_ml: Decimal = Decimal(500)
    """…or above this volume (millilitres)."""
    clip_before_s: int = 60
    clip_after_s: int = 120
    variance_percent_threshold: Decimal = Decimal(3)
    """CA: loss ≥ 3 % of average monthly sales → audit and 24 h notice (§§15034, 15036)."""
    notice_hours: int = 24
    moisture_loss_min_percent: Decimal = Decimal(60)
    moisture_loss_max_percent: Decimal = Decimal(85)
    """Expected drying loss range of wet weight (design default for flower)."""
    harvest_open_days: int = 45
    transit_hours: int = 24
    adjustments_per_week_limit: int = 3
    """Theft, entry-error or drying adjustments by one user in one week above this are flagged."""
    roster_days: int = 30
    sync_stale_hours: int = 24
    sync_reportable_hours: int = 72
    """CA §15048.1(a)(7): loss of tracking access longer than 72 h is reportable."""
    count_sample: int = 10
    """Packages in a day's blind cycle count."""
    store_open_hour: int = 8
    store_close_hour: int = 22


DEFAULT = InventorySettings()
