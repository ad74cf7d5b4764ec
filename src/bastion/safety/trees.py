"""Which call tree a lone-worker timer alerts: the one chosen, else the site's safety tree.

A timer that would alert nobody is refused before it starts, in plain words, so a
missed check-in always reaches someone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from bastion.core.errors import InvalidInput, NotFound
from bastion.notify import service as notify_service
from bastion.site.schemas import Site

NOBODY = "Nobody would be alerted if you missed a check-in: {why}."
ASK_ADMIN = (
    " Ask an administrator to set the site's safety call tree (safety_call_tree in the "
    "site file), or choose a call tree for this timer."
)


def worker_sites(
    *, sites: Mapping[str, Site], allowed: frozenset[str] | None, site_id: str | None = None
) -> list[Site]:
    """Return the loaded sites a worker may start a timer at (``allowed`` None: every site)."""
    mine = [s for sid, s in sites.items() if allowed is None or sid in allowed]
    if site_id is None:
        return mine
    chosen = [s for s in mine if s.site.id == site_id]
    if not chosen:
        raise NotFound(f"you have no site {site_id!r}")
    return chosen


def timer_call_tree(*, session: Session, chosen: str | None, sites: Sequence[Site]) -> str:
    """Return the id of the call tree a timer will start; refuse one that would reach nobody."""
    if chosen is None:
        if not sites:
            raise InvalidInput(NOBODY.format(why="no site is set up for you") + ASK_ADMIN)
        if len(sites) > 1:
            names = ", ".join(f"{s.site.name} ({s.site.id})" for s in sites)
            raise InvalidInput(f"Say which site you are working at (site_id): {names}.")
        site = sites[0].site
        chosen = site.safety_call_tree
        if chosen is None:
            raise InvalidInput(
                NOBODY.format(why=f"{site.name} has no safety call tree") + ASK_ADMIN
            )
    problem = notify_service.tree_problem(session=session, tree=chosen)
    if problem is not None:
        raise InvalidInput(NOBODY.format(why=problem) + ASK_ADMIN)
    return notify_service.get_tree(session=session, tree_id=chosen).id


def site_tree(sites: Mapping[str, Site]) -> str | None:
    """Return the safety call tree of the only loaded site (for timers that name none)."""
    if len(sites) != 1:
        return None
    return next(iter(sites.values())).site.safety_call_tree
