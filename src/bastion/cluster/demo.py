"""The multi-site demo: simulated sites as edge processes, two central nodes, one console.

``bastion cluster demo --sites 3`` prepares a PostgreSQL database for the central side
(the demo accounts, the example dispensary and one copy of it per simulated site) and
one SQLite data directory per edge, then runs every node as its own process, exactly
as an operator would start them (``bastion cluster edge`` and ``bastion serve`` with
``BASTION_BUS_URL``), and stops them all cleanly on Ctrl-C, SIGTERM or ``--duration``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bastion.core.context import Context
from bastion.core.errors import ConfigError
from bastion.site import service as site_service
from bastion.site.schemas import Site

STOP_S = 30.0


@dataclass
class DemoPlan:
    """Where every node of the demo keeps its data and listens."""

    root: Path
    database_url: str
    bus_url: str
    prefix: str
    sites: int
    port: int

    @property
    def site_ids(self) -> list[str]:
        """Return the simulated sites' ids (store-1, store-2, …)."""
        return [f"store-{i}" for i in range(1, self.sites + 1)]

    def central_dir(self, index: int) -> Path:
        """Return the data directory of central node ``index`` (1-based)."""
        return self.root / f"central-{index}"

    def edge_dir(self, site_id: str) -> Path:
        """Return the data directory of a site's edge."""
        return self.root / f"edge-{site_id}"


@dataclass
class DemoProcess:
    """One node running as a child process."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class RunningDemo:
    """The demo's processes; ``stop`` ends them edges first."""

    processes: list[DemoProcess] = field(default_factory=list)

    def failed(self) -> DemoProcess | None:
        """Return a node that exited on its own, if any."""
        return next((p for p in self.processes if p.process.poll() is not None), None)

    def stop(self) -> list[tuple[str, int]]:
        """Stop every node (SIGTERM, then kill after a while); return names and exit codes."""
        for item in self.processes:
            if item.process.poll() is None:
                item.process.send_signal(signal.SIGTERM)
        codes = []
        for item in self.processes:
            try:
                item.process.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                item.process.kill()
                item.process.wait(timeout=10)
            codes.append((item.name, item.process.returncode))
        return codes


def site_copy(site: Site, site_id: str, name: str) -> Site:
    """Return ``site`` under another id and name (a simulated store like the example)."""
    return site.model_copy(
        update={"site": site.site.model_copy(update={"id": site_id, "name": name})}
    )


_UNPINNED = re.compile(r"^(\s*)- kind: threshold\n(?!\1  site:)", re.MULTILINE)


def pin_rules(folder: Path, site_id: str) -> None:
    """Name the example site on the example rules' sensor thresholds.

    The example rules were written for a node with one site, where a sensor needs no
    site; a central node holds several sites, and the rules are for the dispensary.
    """
    for path in sorted(folder.glob("*.yaml")):
        source = path.read_text(encoding="utf-8")
        pinned = _UNPINNED.sub(lambda m: f"{m.group(0)}{m.group(1)}  site: {site_id}\n", source)
        if pinned != source:
            path.write_text(pinned, encoding="utf-8")


def ensure_database(url: str, *, fresh: bool) -> None:
    """Create the PostgreSQL database of ``url`` unless it exists (dropped first when fresh)."""
    target = make_url(url)
    if target.get_backend_name() != "postgresql":
        raise ConfigError("the multi-site demo keeps the central side on PostgreSQL")
    name = target.database or ""
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if fresh:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not found:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise ConfigError(f"cannot reach PostgreSQL at {target.host}:{target.port}: {exc}") from exc
    finally:
        admin.dispose()


def prepare(plan: DemoPlan, *, fresh: bool) -> dict[str, str]:
    """Set up the central database and every edge's directory; return the demo accounts."""
    from bastion.demo import enrol_demo_people, examples_dir, prepare_demo
    from bastion.hub import open_hub
    from bastion.settings import Settings
    from bastion.site.loader import load_site_file

    if fresh and plan.root.exists():
        shutil.rmtree(plan.root)
    plan.root.mkdir(parents=True, exist_ok=True)
    ensure_database(plan.database_url, fresh=fresh)
    central = Settings(data_dir=plan.central_dir(1), database_url=plan.database_url)
    info = prepare_demo(central)
    example = load_site_file(examples_dir() / "dispensary.yaml")
    sites = [site_copy(example, s, f"Store {s.split('-')[1]}") for s in plan.site_ids]
    hub = open_hub(central)
    try:
        for site in sites:
            with hub.unit_of_work() as session:
                site_service.import_site(
                    session=session, site=site, context=Context(actor="demo"), now=hub.clock.now()
                )
    finally:
        hub.close()
    if not plan.central_dir(2).exists():  # the same keys: both read the same encrypted rows
        shutil.copytree(plan.central_dir(1), plan.central_dir(2))
    for index in (1, 2):
        pin_rules(plan.central_dir(index) / "rules", info.site_id)
    for site in sites:
        edge = Settings(data_dir=plan.edge_dir(site.site.id))
        edge_hub = open_hub(edge, migrate=True, create_key=True)
        try:
            with edge_hub.unit_of_work() as session:
                site_service.import_site(
                    session=session,
                    site=site,
                    context=Context(actor="demo"),
                    now=edge_hub.clock.now(),
                )
            enrol_demo_people(edge_hub, site)
        finally:
            edge_hub.close()
    return {
        "operator": info.operator_user,
        "operator_password": info.operator_password,
        "admin": info.admin_user,
        "admin_password": info.admin_password,
        "admin_totp_secret": info.admin_totp_secret,
    }


def start(plan: DemoPlan) -> RunningDemo:
    """Start the central nodes, then one edge per site, each its own process."""
    base = {
        **os.environ,
        "BASTION_BUS_URL": plan.bus_url,
        "BASTION_BUS_PREFIX": plan.prefix,
        "BASTION_COOKIE_SECURE": os.environ.get("BASTION_COOKIE_SECURE", "false"),
    }
    base.pop("BASTION_DATABASE_URL", None)
    base.pop("BASTION_DATA_DIR", None)
    running = RunningDemo()
    python = [sys.executable, "-m", "bastion"]
    for index in (1, 2):
        folder = plan.central_dir(index)
        env = {
            **base,
            "BASTION_DATABASE_URL": plan.database_url,
            "BASTION_NODE_ID": f"central-{index}",
            "BASTION_CHECKPOINT_DIR": str(folder / "checkpoints"),
        }
        port = plan.port + index - 1
        command = [*python, "serve", "--data-dir", str(folder), "--port", str(port)]
        running.processes.append(_spawn(f"central-{index}", command, env, plan.root, port))
    for offset, site_id in enumerate(plan.site_ids, start=10):
        port = plan.port + offset
        folder = plan.edge_dir(site_id)
        env = {**base, "BASTION_CHECKPOINT_DIR": str(folder / "checkpoints")}
        command = [*python, "cluster", "edge", "--site", site_id, "--simulate"]
        command += ["--node", f"edge-{site_id}", "--data-dir", str(folder), "--port", str(port)]
        running.processes.append(_spawn(f"edge-{site_id}", command, env, plan.root, port))
    return running


def _spawn(
    name: str, command: list[str], env: dict[str, str], root: Path, port: int
) -> DemoProcess:
    log = root / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return DemoProcess(name, f"http://127.0.0.1:{port}", process, log)


def wait(running: RunningDemo, duration: float | None) -> str:
    """Wait for Ctrl-C, SIGTERM, the end of ``duration`` or a node exiting; return which."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = time.monotonic() + duration if duration else None
    try:
        while not stop.is_set():
            failed = running.failed()
            if failed is not None:
                return f"{failed.name} exited (see {failed.log})"
            if deadline is not None and time.monotonic() >= deadline:
                return "duration reached"
            stop.wait(0.5)
        return "asked to stop"
    except KeyboardInterrupt:
        return "interrupted"
    finally:
        signal.signal(signal.SIGTERM, previous)
