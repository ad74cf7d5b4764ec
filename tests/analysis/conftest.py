"""Fixtures of the analysis suites: the hub with the example sites and a site with a dead end."""

from __future__ import annotations

import pytest

from bastion.hub import Hub
from bastion.site.schemas import Site
from tests.analysis.test_analysis_site import small_site


@pytest.fixture
def island_site() -> Site:
    """Return a small site whose zone 'island' has no door or barrier leading to it."""
    return small_site()


@pytest.fixture
def analysis_hub(site_hub: Hub, island_site: Site) -> Hub:
    """Return the hub with the example dispensary and the small site loaded."""
    site_hub.extras["sites"][island_site.site.id] = island_site
    return site_hub
