"""Inventory routes under ``/api/sites/{site_id}/inventory`` (thin; logic in the services).

Reading stock, packages, findings and exports needs ``inventory:read``; moving, adjusting,
destroying, confirming and counting needs ``inventory:handle`` (counters and witnesses are
checked by the count service); locations, items, starting counts, reconciliation and
imports need ``inventory:manage``. Every route is scoped to the site in its path, and a
record of another site answers 404.
"""

from __future__ import annotations

from fastapi import APIRouter

from bastion.inventory.api import review, stock

router = APIRouter()
router.include_router(stock.router)
router.include_router(review.router)
