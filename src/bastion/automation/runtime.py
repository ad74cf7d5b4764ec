"""The running automation domain: rules from YAML files and the database, on the hub's bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bastion.automation import service
from bastion.automation.arming import shared_board
from bastion.automation.config import (
    RuleConfig,
    RuleSet,
    check_rule_references,
    load_rule_sets,
    load_rules,
    verify_no_cycles,
    verify_unique_ids,
)
from bastion.automation.engine import RuleEngine, Sleep
from bastion.automation.references import catalog_from_store, raise_all
from bastion.automation.state import RuleEnv
from bastion.automation.trace import TraceStore

_LOGGER = logging.getLogger(__name__)
EXAMPLE_RULES = Path(__file__).parent / "rules"


class AutomationRuntime:
    """The rules engine of a hub plus its schedule ticker and trace writer."""

    def __init__(
        self,
        hub: Any,
        rules_paths: Iterable[str | Path] = (),
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.hub = hub
        self.rules_paths = [Path(p) for p in rules_paths]
        self.env = RuleEnv(
            sites=hub.extras.get("sites", {}), board=shared_board(hub), clock=hub.clock, hub=hub
        )
        self.engine = RuleEngine(self.env, bus=hub.bus, traces=TraceStore(hub.db), sleep=sleep)
        self._tasks: list[asyncio.Task[None]] = []

    def file_rules(self) -> list[RuleConfig]:
        """Return the rules of the configured files and directories."""
        return load_rules(self.rules_paths)

    def all_rules(self) -> list[RuleConfig]:
        """Return file rules plus stored rules, checked together for cycles."""
        with self.hub.db.sessions() as session:
            stored = service.stored_rules(session=session)
        rules = [*self.file_rules(), *stored]
        verify_no_cycles(rules)
        return rules

    def refresh_catalog(self) -> None:
        """Read the call trees and templates rules may name from the notification store."""
        with self.hub.db.sessions() as session:
            self.env.use_catalog(catalog_from_store(session=session, sites=self.env.sites))

    def load(self, rules: list[RuleConfig]) -> None:
        """Compile ``rules`` against the current store (an API change); raise on bad references."""
        self.refresh_catalog()
        self.engine.load(rules)

    def reload(self) -> int:
        """Check and recompile every rule (files and stored); return how many are loaded."""
        self.refresh_catalog()
        with self.hub.db.sessions() as session:
            stored = service.stored_rules(session=session)
        files = load_rule_sets(self.rules_paths)
        sets = [*files, RuleSet(tuple(stored), source="database", stored=True)]
        self._check_references(sets)
        verify_unique_ids([rule for ruleset in files for rule in ruleset.rules])
        rules = [rule for ruleset in sets for rule in ruleset.rules]
        verify_no_cycles(rules)
        self.engine.load(rules)
        return len(self.engine.rules)

    def _check_references(self, sets: list[RuleSet]) -> None:
        """Raise every name an enabled rule uses that nothing has, each with file:line.

        A call tree that exists but would reach nobody only warns: a contact on leave
        must not keep the rules from starting.
        """
        catalog = self.env.catalog
        errors = [
            error
            for ruleset in sets
            for error in check_rule_references(
                ruleset, catalog, enabled_only=True, reachability=False
            )
        ]
        for error in errors:
            _LOGGER.error("rule not loaded: %s", error)
        raise_all(errors)
        for ruleset in sets:
            for warning in check_rule_references(ruleset, catalog, enabled_only=True):
                _LOGGER.warning("rule would reach nobody: %s", warning)

    async def start(self, *, tick_s: float | None = 1.0, flush_s: float | None = 1.0) -> None:
        """Load, compile and subscribe; start the schedule ticker and trace writer.

        Must run in the event loop.
        """
        self.reload()
        self.engine.start()
        if tick_s:
            self._tasks.append(
                asyncio.create_task(self.engine.run_schedules(tick_s), name="rules-schedules")
            )
        if flush_s:
            self._tasks.append(asyncio.create_task(self._flush_loop(flush_s), name="rules-traces"))

    async def _flush_loop(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await self.engine.traces.flush()
            except Exception:
                _LOGGER.exception("writing rule traces failed")

    async def stop(self) -> None:
        """Stop the tasks and the engine; write the remaining traces."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.engine.stop()


async def start_automation(
    hub: Any,
    rules_paths: Iterable[str | Path] = (),
    *,
    tick_s: float | None = 1.0,
    flush_s: float | None = 1.0,
    sleep: Sleep = asyncio.sleep,
) -> AutomationRuntime:
    """Start the rules engine on ``hub``; store it as ``hub.extras['automation']``.

    Must run in the event loop.
    """
    runtime = AutomationRuntime(hub, rules_paths, sleep=sleep)
    await runtime.start(tick_s=tick_s, flush_s=flush_s)
    hub.extras["automation"] = runtime
    return runtime


def rules_dir(hub: Any) -> Path:
    """Return the data directory's rules folder (``<data_dir>/rules``)."""
    return Path(hub.settings.data_dir) / "rules"


async def start_site_automation(hub: Any) -> AutomationRuntime:
    """Start automation with the rule files of the data directory's ``rules/`` folder.

    Must run in the event loop.
    """
    folder = rules_dir(hub)
    return await start_automation(hub, [folder] if folder.is_dir() else [])
