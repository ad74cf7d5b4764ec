"""Shared CLI plumbing: settings from options, one-line errors, hub opening."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, tzinfo
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from bastion.core.errors import BastionError

if TYPE_CHECKING:  # the hub and settings pull in the database layer; commands import them
    from bastion.hub import Hub
    from bastion.settings import Settings

console = Console(soft_wrap=True)
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="BASTION_DATA_DIR", help="Data directory (default ./bastion-data)."
    ),
]


def settings_for(data_dir: Path | None, *, find_demo: bool = True) -> Settings:
    """Return settings, with the data directory overridden when given.

    With no ``--data-dir`` (nor ``BASTION_DATA_DIR``) and no database in the default
    ``./bastion-data``, a demo run in this folder (``./bastion-demo``) is used instead, and
    the command says so (not for ``init``, which creates ``./bastion-data``).
    """
    from bastion.settings import Settings

    settings = Settings()
    if data_dir is not None:
        return settings.model_copy(update={"data_dir": data_dir})
    demo = Path("bastion-demo")
    if (
        find_demo
        and settings.data_dir == Path("bastion-data")
        and not has_database(settings)
        and (demo / "bastion.db").exists()
    ):
        err_console.print(f"using the demo's data directory {demo}/ (--data-dir to choose)")
        settings = settings.model_copy(update={"data_dir": demo})
    return settings


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def one_line_errors(func: F) -> F:
    """Turn Bastion errors into a one-line message and exit code 2 (no traceback)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BastionError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            err_console.print("interrupted")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def has_database(settings: Settings) -> bool:
    """Return True when the settings point at a database (a URL, or one in the data directory)."""
    return bool(settings.database_url) or (settings.data_dir / "bastion.db").exists()


@contextmanager
def hub_for(data_dir: Path | None) -> Iterator[Hub]:
    """Open the hub of an initialised data directory and close it afterwards."""
    settings = settings_for(data_dir)
    if not has_database(settings):
        raise BastionError(
            f"{settings.data_dir} holds no Bastion database; run 'bastion init' first "
            "or name the data directory with --data-dir DIR"
        )
    from bastion.hub import open_hub

    hub = open_hub(settings)
    try:
        yield hub
    finally:
        hub.close()


def site_zones(session: Any) -> dict[str, tzinfo]:
    """Return each stored site's time zone by site id, for showing times in site time."""
    from bastion.core.sitetime import site_zone
    from bastion.site import service as site_service

    sites = site_service.load_all(session=session)
    return {site_id: site_zone(site.site.timezone) for site_id, site in sites.items()}


def zone_for(zones: dict[str, tzinfo], site_id: str | None = None) -> tzinfo:
    """Return a site's zone; without one, the first site's (as the console does), else UTC."""
    if site_id is not None and site_id in zones:
        return zones[site_id]
    return zones[sorted(zones)[0]] if zones else UTC
