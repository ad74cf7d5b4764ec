"""What ``rules check`` and ``playbooks check`` resolve references against, and how they report."""

from __future__ import annotations

from pathlib import Path

import typer

from bastion.automation.references import Catalog, catalog_from_store, offline_catalog
from bastion.cli.common import err_console, has_database, hub_for, settings_for
from bastion.core.errors import ConfigError
from bastion.site import service as site_service
from bastion.site.loader import load_site_file
from bastion.site.schemas import Site


def _sites(paths: list[Path] | None) -> dict[str, Site]:
    sites = [load_site_file(p) for p in paths or []]
    return {s.site.id: s for s in sites}


def reference_catalog(site_files: list[Path] | None, data_dir: Path | None) -> Catalog:
    """Return the sites (files, else the data directory's) and the call trees to check against.

    Call trees and templates come from the data directory's database when it has one.
    """
    sites = _sites(site_files)
    if not has_database(settings_for(data_dir)):
        return offline_catalog(sites)
    with hub_for(data_dir) as hub, hub.db.sessions() as session:
        if not sites:
            sites = site_service.load_all(session=session)
        return catalog_from_store(session=session, sites=sites)


def print_reference_errors(errors: list[ConfigError]) -> None:
    """Print every error on its own line and exit with status 2."""
    for error in errors:
        err_console.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def unchecked_note(catalog: Catalog, data_dir: Path | None) -> str:
    """Return what could not be checked and how to check it, in plain words (or nothing)."""
    missing = catalog.unchecked()
    if not missing:
        return ""
    folder = settings_for(data_dir).data_dir
    how = (
        "give --data-dir with a Bastion database" if catalog.sites else "give --site or --data-dir"
    )
    return f" (not checked: {'; '.join(missing)}: {folder} holds no database; {how})"
