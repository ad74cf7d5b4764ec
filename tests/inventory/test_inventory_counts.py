"""Blind cycle counts: drawn at count time, weighted, shown only to the counters, witnessed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.core.errors import Forbidden, InvalidInput
from bastion.inventory import counts
from bastion.inventory.models import InvCountLine
from tests.inventory.conftest import CTX, TAGS, new_package


def test_the_sample_is_weighted_to_value_and_past_variances():
    cands = [("a", "A", "L1", 1, 1.0), ("b", "B", "L2", 1, 1000.0)]
    picks = [counts.sample(cands, 1, f"seed{n}")[0] for n in range(200)]
    assert picks.count(1) > 190


def test_counters_see_no_book_quantity_and_only_they_may_count(site_hub, shop, clock):
    now = clock.now()
    for n in range(5):
        new_package(site_hub, shop, TAGS[n], "10", now=now)
    with site_hub.unit_of_work() as session:
        count = counts.start(
            session=session,
            site=shop.site,
            counters=[shop.alice_user],
            context=CTX,
            now=now,
            size=3,
        )
        seen = counts.blind(session, count, shop.alice_user)
        assert len(seen) == 3 and all(line.item == "Blue Dream 3.5 g" for line in seen)
        assert not hasattr(seen[0], "system_qty")
        with pytest.raises(Forbidden):
            counts.blind(session, count, shop.bob_user)
        with pytest.raises(Forbidden):
            counts.enter(
                session=session,
                count=count,
                user_id=shop.bob_user,
                tag=seen[0].tag,
                counted=Decimal(1),
                context=CTX,
                now=now,
            )
        with pytest.raises(InvalidInput, match="not in this count's sample"):
            counts.enter(
                session=session,
                count=count,
                user_id=shop.alice_user,
                tag="X" * 24,
                counted=Decimal(1),
                context=CTX,
                now=now,
            )
        for line in seen:
            counts.enter(
                session=session,
                count=count,
                user_id=shop.alice_user,
                tag=line.tag,
                counted=Decimal(10),
                context=CTX,
                now=now,
            )
        with pytest.raises(Forbidden, match="witness"):
            counts.complete(
                session=session, count=count, witness_user_id=shop.alice_user, context=CTX, now=now
            )
        assert (
            counts.complete(
                session=session, count=count, witness_user_id=shop.bob_user, context=CTX, now=now
            )
            == 0
        )
        assert session.query(InvCountLine).count() == 3


def test_a_count_cannot_close_with_lines_uncounted(site_hub, shop, clock):
    now = clock.now()
    new_package(site_hub, shop, TAGS[0], "10", now=now)
    with site_hub.unit_of_work() as session:
        count = counts.start(
            session=session, site=shop.site, counters=[shop.alice_user], context=CTX, now=now
        )
        with pytest.raises(InvalidInput, match="not yet counted"):
            counts.complete(
                session=session, count=count, witness_user_id=shop.bob_user, context=CTX, now=now
            )
