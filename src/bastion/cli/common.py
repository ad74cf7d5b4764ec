"""Shared CLI plumbing: settings from options, one-line errors, hub opening."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from bastion.core.errors import BastionError
from bastion.hub import Hub, open_hub
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


def settings_for(data_dir: Path | None) -> Settings:
    """Return settings, with the data directory overridden when given."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


def fail(message: str, code: int = 2) -> None:
    """Print one line on stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
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
            f"{settings.data_dir} holds no Bastion database; run 'bastion init' first"
        )
    hub = open_hub(settings)
    try:
        yield hub
    finally:
        hub.close()
