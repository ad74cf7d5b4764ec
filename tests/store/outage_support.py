"""A private PostgreSQL server that tests may stop and start, and a URL nobody answers on.

Never the shared server: ``initdb`` + ``pg_ctl`` from /usr/lib/postgresql/*/bin in a
temporary directory, on a free loopback port (run as the ``postgres`` user when the
tests run as root, since PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import service_missing
from tests.live_server import free_port

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def closed_port_url() -> str:
    """Return a PostgreSQL URL on a loopback port with nothing listening (refused at once)."""
    return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/bastion"


def wait_until(predicate: Callable[[], bool], *, limit_s: float = 120, what: str = "") -> None:
    """Poll ``predicate`` until it holds, or fail after a generous limit."""
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.02)


async def wait_until_async(
    predicate: Callable[[], bool], *, limit_s: float = 120, what: str = ""
) -> None:
    """Await until ``predicate`` holds (the loop keeps running), or fail after a generous limit."""
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        await asyncio.sleep(0.02)


def _bin_dir() -> Path | None:
    found = sorted(Path("/").glob(PG_BIN_GLOB.lstrip("/")), key=lambda p: int(p.parent.name))
    for candidate in reversed(found):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


class PrivatePostgres:
    """One throw-away PostgreSQL cluster; ``stop``/``start`` simulate an outage."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            service_missing(f"PostgreSQL server binaries ({PG_BIN_GLOB}/initdb, pg_ctl)")
        assert bin_dir is not None
        self.bin_dir = bin_dir
        self.as_user: list[str] = []
        owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                service_missing("running as root and there is no 'postgres' user to run PostgreSQL")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="bastion-pg-"))
        if owner is not None:
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def _run(self, tool: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin_dir / tool), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=40"
        )
        log = str(self.root / "server.log")
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", log, "-w", "-t", "300", "start"
        )

    def stop(self) -> None:
        """Stop the server the way an administrator does (clients are disconnected)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "300", "stop")

    def destroy(self) -> None:
        """Stop the server if it runs and remove its files."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
