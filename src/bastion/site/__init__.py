"""Site-as-code: the strict, versioned model of a facility and its zone/door graph."""

from bastion.site.graph import NoPathError, SiteGraph, verify_reachable
from bastion.site.loader import dump_site, load_site, load_site_file
from bastion.site.migrations import MIGRATIONS, migrate
from bastion.site.schemas import CURRENT_VERSION, OUTSIDE, Layer, Site

__all__ = [
    "CURRENT_VERSION",
    "MIGRATIONS",
    "OUTSIDE",
    "Layer",
    "NoPathError",
    "Site",
    "SiteGraph",
    "dump_site",
    "load_site",
    "load_site_file",
    "migrate",
    "verify_reachable",
]
