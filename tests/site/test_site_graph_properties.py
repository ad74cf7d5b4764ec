from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.site.graph import SiteGraph, verify_reachable
from bastion.site.loader import dump_site, load_site
from bastion.site.schemas import OUTSIDE, Layer, Site

LAYERS = [layer.name.lower() for layer in Layer if layer is not Layer.OUTSIDE]


@st.composite
def tree_sites(draw: st.DrawFn) -> tuple[Site, dict[str, int]]:
    """Draw a random tree of zones hung off the outside, one door per tree edge.

    Door orientation, door ids (and so tie-breaks) and a few extra shortcut doors are
    random too. Returns the site and each zone's depth in the tree.
    """
    count = draw(st.integers(min_value=1, max_value=9))
    parents = [draw(st.integers(min_value=-1, max_value=i - 1)) for i in range(count)]
    zone_ids = [f"z{i}" for i in range(count)]
    tree_depth: dict[str, int] = {}
    for i, parent in enumerate(parents):
        tree_depth[zone_ids[i]] = 1 if parent < 0 else tree_depth[zone_ids[parent]] + 1
    edges = [(OUTSIDE if p < 0 else zone_ids[p], zone_ids[i]) for i, p in enumerate(parents)]
    shortcuts = draw(
        st.lists(
            st.tuples(st.sampled_from([OUTSIDE, *zone_ids]), st.sampled_from(zone_ids)).filter(
                lambda pair: pair[0] != pair[1]
            ),
            max_size=3,
        )
    )
    all_edges = edges + shortcuts
    door_ids = draw(st.permutations([f"d{n:02d}" for n in range(len(all_edges))]))
    doors: list[dict[str, Any]] = []
    for door_id, (outer, inner) in zip(door_ids, all_edges, strict=True):
        flip = draw(st.booleans())
        a, b = (inner, outer) if flip else (outer, inner)
        doors.append({"id": door_id, "name": door_id, "from": a, "to": b})
    zones = [{"id": z, "name": z.upper(), "layer": draw(st.sampled_from(LAYERS))} for z in zone_ids]
    site = Site.model_validate(
        {
            "site": {"id": "random", "name": "Random", "timezone": "UTC"},
            "zones": zones,
            "doors": doors,
        }
    )
    return site, tree_depth


@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(tree_sites())
def test_every_zone_of_a_tree_site_is_reachable(drawn: tuple[Site, dict[str, int]]) -> None:
    site, tree_depth = drawn
    graph = SiteGraph(site)
    verify_reachable(site)
    assert graph.unreachable_zones() == []
    for zone in site.zones:
        path = graph.path_from_outside(zone.id)
        assert path, zone.id
        # The doors chain from outside into the zone, each entering a new zone.
        here, seen = OUTSIDE, {OUTSIDE}
        for door in path:
            assert here in (door.from_zone, door.to_zone)
            here = door.to_zone if door.from_zone == here else door.from_zone
            assert here not in seen
            seen.add(here)
        assert here == zone.id
        assert zone.id in (path[-1].from_zone, path[-1].to_zone)
        # Shortcuts can only make a path shorter than the tree path.
        assert 1 <= len(path) <= tree_depth[zone.id]
        assert graph.layers_crossed(zone.id)[-1] is zone.layer
    assert load_site(dump_site(site)) == site


@settings(max_examples=60, deadline=None, database=None)
@given(tree_sites(), st.data())
def test_path_is_the_shortest_and_deterministic(
    drawn: tuple[Site, dict[str, int]], data: st.DataObject
) -> None:
    site, _ = drawn
    zone = data.draw(st.sampled_from([z.id for z in site.zones]))
    graph = SiteGraph(site)
    path = graph.path_from_outside(zone)
    # Brute-force breadth-first distances agree with the path length.
    distance = {OUTSIDE: 0}
    frontier = [OUTSIDE]
    while frontier:
        nxt = []
        for here in frontier:
            for door in site.doors:
                if here in (door.from_zone, door.to_zone):
                    there = door.to_zone if door.from_zone == here else door.from_zone
                    if there not in distance:
                        distance[there] = distance[here] + 1
                        nxt.append(there)
        frontier = nxt
    assert len(path) == distance[zone]
    # Reordering the doors in the file changes nothing.
    shuffled = site.model_copy(update={"doors": tuple(reversed(site.doors))})
    assert SiteGraph(shuffled).path_from_outside(zone) == path
