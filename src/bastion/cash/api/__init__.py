"""Cash routes under ``/api/sites/{site_id}/cash`` (thin; logic in the cash services).

Reading needs ``cash:read``; a cashier (``cash:handle``) reaches only their own till and
its counts, which the services check; counting other containers needs ``cash:count``;
configuration, tills, deposits and reviews need ``cash:manage``; the pickup schedule
and carriers need ``cash:pickups``; closing a compliance task needs
``compliance:manage``. A refusal that must be kept (a wrong code word at the pickup
door, a reused seal) commits and answers 409 with the alarm it raised.
"""

from __future__ import annotations

from fastapi import APIRouter

from bastion.cash.api import pickups, reviews, tills
from bastion.cash.api.common import own_till, refused

router = APIRouter()
router.include_router(tills.router)
router.include_router(reviews.router)
router.include_router(pickups.router)

__all__ = ["own_till", "refused", "router"]
