"""Stored rules (created through the API) and run traces; keyword-only, never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.automation.config import (
    RuleConfig,
    parse_rule,
    rule_references,
    rule_to_dict,
    verify_no_cycles,
)
from bastion.automation.models import RuleTrace, StoredRule
from bastion.automation.references import Catalog, find_problems
from bastion.core.context import Context
from bastion.core.errors import ConfigError, Conflict, NotFound
from bastion.core.events import EVENT_ADMIN_ACTION, AdminActionPayload, make_event
from bastion.store.ledger import stage


def stored_rules(*, session: Session) -> list[RuleConfig]:
    """Return the enabled and disabled rules stored in the database."""
    rows = session.execute(select(StoredRule).order_by(StoredRule.id)).scalars()
    return [parse_rule(row.config, source="database", field=f"rule {row.id}") for row in rows]


def save_rule(
    *,
    session: Session,
    raw: dict[str, Any],
    context: Context,
    now: datetime,
    others: list[RuleConfig],
    catalog: Catalog,
    create: bool,
) -> RuleConfig:
    """Validate and store a rule; ``others`` are the rules it must not form a cycle with.

    Every door, zone, camera and call tree the rule names must be in ``catalog``.
    """
    rule = parse_rule(raw, source="api")
    problems = find_problems(rule_references(rule), catalog, reachability=False)
    if problems:
        raise ConfigError("; ".join(f"{ref.field}: {message}" for ref, message in problems))
    verify_no_cycles([*[r for r in others if r.id != rule.id], rule])
    row = session.get(StoredRule, rule.id)
    if create and row is not None:
        raise Conflict(f"rule {rule.id!r} already exists")
    if not create and row is None:
        raise NotFound(f"rule {rule.id!r} not found")
    if row is None:
        row = StoredRule(id=rule.id)
        session.add(row)
    row.name = rule.name or rule.id
    row.enabled = rule.enabled
    row.config = rule_to_dict(rule)
    row.updated_at = now
    row.updated_by = context.actor
    stage(
        session,
        make_event(
            EVENT_ADMIN_ACTION,
            AdminActionPayload(
                action="rule.create" if create else "rule.update", target=f"rule:{rule.id}"
            ),
            context=context,
            time=now,
        ),
    )
    return rule


def delete_rule(*, session: Session, rule_id: str, context: Context, now: datetime) -> None:
    """Delete a stored rule."""
    row = session.get(StoredRule, rule_id)
    if row is None:
        raise NotFound(f"rule {rule_id!r} not found")
    session.delete(row)
    stage(
        session,
        make_event(
            EVENT_ADMIN_ACTION,
            AdminActionPayload(action="rule.delete", target=f"rule:{rule_id}"),
            context=context,
            time=now,
        ),
    )


def list_traces(
    *, session: Session, rule_id: str | None = None, limit: int = 50
) -> list[RuleTrace]:
    """Return stored traces, newest first."""
    stmt = select(RuleTrace)
    if rule_id is not None:
        stmt = stmt.where(RuleTrace.rule_id == rule_id)
    return list(session.execute(stmt.order_by(RuleTrace.started_at.desc()).limit(limit)).scalars())


def traces_for_context(*, session: Session, context_id: str) -> list[RuleTrace]:
    """Return the traces of runs started by a context (walk from an event to its rules)."""
    return list(
        session.execute(select(RuleTrace).where(RuleTrace.parent_id == context_id)).scalars()
    )
