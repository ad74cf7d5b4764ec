from __future__ import annotations

from collections.abc import Callable

import pytest

from bastion.site.graph import NoPathError, SiteGraph, verify_reachable
from bastion.site.schemas import OUTSIDE, Barrier, Door, Layer, Site, SiteReferenceError

SiteLoader = Callable[[str], Site]
SiteFactory = Callable[..., Site]


def ids(items: list[Door] | list[Barrier] | list[Door | Barrier]) -> list[str]:
    return [item.id for item in items]


@pytest.fixture
def dispensary(example_site: SiteLoader) -> SiteGraph:
    return SiteGraph(example_site("dispensary"))


@pytest.fixture
def cultivation(example_site: SiteLoader) -> SiteGraph:
    return SiteGraph(example_site("cultivation"))


# --- adjacency ------------------------------------------------------------------------------


def test_neighbours_follow_doors_both_ways(dispensary: SiteGraph) -> None:
    assert dispensary.neighbours("back-of-house") == {
        "sales-floor",
        "loading-dock",
        "manager-office",
        "server-room",
        "cash-room",
        "vault",
    }
    assert dispensary.neighbours(OUTSIDE) == {"parking"}
    assert dispensary.neighbours("vault") == {"back-of-house"}


def test_neighbours_with_barriers(dispensary: SiteGraph) -> None:
    assert dispensary.neighbours("vault", include_barriers=True) == {"back-of-house", "parking"}
    assert ids(dispensary.barriers_of("vault")) == ["vault-exterior", "vault-roof", "vault-walls"]


def test_adjacent_zones_are_real_zones_by_id(dispensary: SiteGraph) -> None:
    assert [z.id for z in dispensary.adjacent_zones("lobby")] == [
        "parking",
        "restroom",
        "sales-floor",
    ]
    assert [z.id for z in dispensary.adjacent_zones("parking")] == [
        "loading-dock",
        "lobby",
        "sales-floor",
    ]


def test_doors_of_and_between(dispensary: SiteGraph) -> None:
    assert ids(dispensary.doors_of("vault")) == ["vault-door"]
    assert ids(dispensary.doors_of(OUTSIDE)) == ["lot-gate", "ped-gate"]
    assert ids(dispensary.doors_between("back-of-house", "vault")) == ["vault-door"]
    assert ids(dispensary.doors_between("vault", "back-of-house")) == ["vault-door"]
    assert ids(dispensary.doors_between("parking", OUTSIDE)) == ["lot-gate", "ped-gate"]
    assert dispensary.doors_between("lobby", "vault") == []


def test_adjacent_doors_share_a_zone(dispensary: SiteGraph) -> None:
    # Forced entry at the vault door: lock every other door of back of house.
    assert ids(dispensary.adjacent_doors("vault-door")) == [
        "boh-door",
        "cash-door",
        "dock-boh",
        "office-door",
        "server-door",
    ]
    assert ids(dispensary.adjacent_doors("restroom-door")) == ["checkin-door", "front-entry"]


def test_adjacent_doors_skip_the_outside_unless_asked(make_site: SiteFactory) -> None:
    graph = SiteGraph(
        make_site(
            zones=[("yard", "perimeter"), ("shed", "building")],
            doors=[
                ("gate-a", OUTSIDE, "yard"),
                ("gate-b", OUTSIDE, "yard"),
                ("shed", "yard", "shed"),
            ],
        )
    )
    assert ids(graph.adjacent_doors("gate-a")) == ["gate-b", "shed"]
    assert ids(graph.adjacent_doors("shed")) == ["gate-a", "gate-b"]
    only_outside = SiteGraph(
        make_site(
            zones=[("a", "building"), ("b", "building")],
            doors=[("door-a", OUTSIDE, "a"), ("door-b", OUTSIDE, "b")],
        )
    )
    assert only_outside.adjacent_doors("door-a") == []
    assert ids(only_outside.adjacent_doors("door-a", include_outside=True)) == ["door-b"]


def test_lockdown_doors_cover_the_zone_and_its_neighbours(dispensary: SiteGraph) -> None:
    assert ids(dispensary.lockdown_doors("cash-room")) == [
        "boh-door",
        "cash-door",
        "dock-boh",
        "office-door",
        "server-door",
        "vault-door",
    ]
    assert ids(dispensary.lockdown_doors("restroom")) == [
        "checkin-door",
        "front-entry",
        "restroom-door",
    ]


def test_unknown_zone_raises_key_error(dispensary: SiteGraph) -> None:
    with pytest.raises(KeyError):
        dispensary.neighbours("attic")
    with pytest.raises(KeyError):
        dispensary.path_from_outside("attic")
    assert "vault" in dispensary and OUTSIDE in dispensary and "attic" not in dispensary


# --- paths -----------------------------------------------------------------------------------


def test_dispensary_vault_path(dispensary: SiteGraph) -> None:
    # The dock, not the customer entrance, is the shortest way to the vault.
    assert ids(dispensary.path_from_outside("vault")) == [
        "lot-gate",
        "dock-door",
        "dock-boh",
        "vault-door",
    ]
    assert dispensary.depth("vault") == 4
    assert dispensary.zones_along("vault") == ["parking", "loading-dock", "back-of-house", "vault"]


def test_cultivation_vault_path(cultivation: SiteGraph) -> None:
    assert ids(cultivation.path_from_outside("vault")) == [
        "ped-gate",
        "dock-door",
        "dock-corridor",
        "packaging-door",
        "vault-door",
    ]
    assert cultivation.depth("vault") == 5


@pytest.mark.parametrize("name", ["dispensary", "cultivation"])
def test_layers_deepen_towards_the_vault(example_site: SiteLoader, name: str) -> None:
    graph = SiteGraph(example_site(name))
    layers = graph.layers_crossed("vault")
    assert layers[0] is Layer.PERIMETER
    assert layers[-1] is Layer.VAULT
    assert layers == sorted(layers)
    assert len(layers) == graph.depth("vault")


def test_cultivation_layers_cross_every_level(cultivation: SiteGraph) -> None:
    assert cultivation.layers_crossed("vault") == [
        Layer.PERIMETER,
        Layer.BUILDING,
        Layer.INTERIOR,
        Layer.RESTRICTED,
        Layer.VAULT,
    ]


def test_outside_has_an_empty_path(dispensary: SiteGraph) -> None:
    assert dispensary.path_from_outside(OUTSIDE) == []
    assert dispensary.depth(OUTSIDE) == 0


def test_route_with_barriers_can_go_through_walls(dispensary: SiteGraph) -> None:
    route = dispensary.route_from_outside("vault")
    assert ids(route) == ["lot-gate", "vault-exterior"]
    assert isinstance(route[0], Door) and isinstance(route[1], Barrier)
    assert dispensary.depth("vault", include_barriers=True) == 2


def test_ties_are_broken_by_door_id(make_site: SiteFactory) -> None:
    zones = [("hall", "building"), ("east", "interior"), ("west", "interior"), ("safe", "vault")]

    def vault_path(east_door: str, west_door: str) -> list[str]:
        site = make_site(
            zones=zones,
            doors=[
                ("main", OUTSIDE, "hall"),
                (east_door, "hall", "east"),
                (west_door, "hall", "west"),
                ("e-safe", "east", "safe"),
                ("w-safe", "west", "safe"),
            ],
        )
        return ids(SiteGraph(site).path_from_outside("safe"))

    assert vault_path("a-east", "b-west") == ["main", "a-east", "e-safe"]
    assert vault_path("b-east", "a-west") == ["main", "a-west", "w-safe"]


def test_fewest_doors_wins_over_smaller_ids(make_site: SiteFactory) -> None:
    site = make_site(
        zones=[("a", "building"), ("b", "interior"), ("c", "vault")],
        doors=[("a1", OUTSIDE, "a"), ("a2", "a", "b"), ("a3", "b", "c"), ("z-back", OUTSIDE, "c")],
    )
    assert ids(SiteGraph(site).path_from_outside("c")) == ["z-back"]


def test_door_orientation_does_not_matter(make_site: SiteFactory) -> None:
    site = make_site(
        zones=[("lobby", "building"), ("vault", "vault")],
        doors=[("front", "lobby", OUTSIDE), ("vd", "vault", "lobby")],
    )
    graph = SiteGraph(site)
    assert ids(graph.path_from_outside("vault")) == ["front", "vd"]
    assert graph.zones_along("vault") == ["lobby", "vault"]


def test_zone_behind_a_barrier_has_no_door_path(make_site: SiteFactory) -> None:
    site = make_site(
        zones=[("lobby", "building"), ("crawlspace", "interior"), ("island", "interior")],
        doors=[("front", OUTSIDE, "lobby")],
        barriers=[("hatch", "lobby", "crawlspace")],
    )
    graph = SiteGraph(site)
    assert graph.unreachable_zones() == ["crawlspace", "island"]
    assert graph.unreachable_zones(include_barriers=True) == ["island"]
    assert graph.reachable(include_barriers=True) == {"lobby", "crawlspace"}
    assert ids(graph.route_from_outside("crawlspace")) == ["front", "hatch"]
    with pytest.raises(NoPathError, match="'crawlspace' cannot be reached"):
        graph.path_from_outside("crawlspace")
    with pytest.raises(NoPathError):
        graph.layers_crossed("island")
    with pytest.raises(SiteReferenceError) as info:
        verify_reachable(site)
    assert info.value.field == "zones.2"


@pytest.mark.parametrize("name", ["dispensary", "cultivation"])
def test_examples_have_no_unreachable_zones(example_site: SiteLoader, name: str) -> None:
    graph = SiteGraph(example_site(name))
    assert graph.unreachable_zones() == []
    assert graph.reachable() == {z.id for z in graph.site.zones}


# --- devices ---------------------------------------------------------------------------------


def test_zone_of_device(dispensary: SiteGraph) -> None:
    assert dispensary.zone_of_device("front-entry-rdr-in") == "parking"  # stands outside
    assert dispensary.zone_of_device("boh-door-rdr-out") == "back-of-house"
    assert dispensary.zone_of_device("vault-door-dc") == "vault"
    assert dispensary.zone_of_device("lot-gate-rdr-in") == OUTSIDE
    assert dispensary.zone_of_device("vault-pir-1") == "vault"
    assert dispensary.zone_of_device("cam-lobby") == "lobby"
    with pytest.raises(KeyError):
        dispensary.zone_of_device("no-such-device")


def test_camera_without_covers_uses_its_mount_point() -> None:
    def site(with_areas: bool) -> Site:
        lot = {"x": 0, "y": 0, "width": 20, "height": 20} if with_areas else None
        kiosk = {"x": 2, "y": 2, "width": 4, "height": 4} if with_areas else None
        return Site.model_validate(
            {
                "site": {"id": "s", "name": "S", "timezone": "UTC"},
                "zones": [
                    {"id": "lot", "name": "Lot", "layer": "perimeter", "area": lot},
                    {"id": "kiosk", "name": "Kiosk", "layer": "building", "area": kiosk},
                ],
                "doors": [
                    {"id": "gate", "name": "Gate", "from": OUTSIDE, "to": "lot"},
                    {"id": "kiosk-door", "name": "Kiosk door", "from": "lot", "to": "kiosk"},
                ],
                "devices": [
                    {
                        "id": "cam",
                        "type": "camera",
                        "fov": {
                            "position": {"x": 3, "y": 3},
                            "direction_deg": 0,
                            "angle_deg": 90,
                            "range_m": 10,
                        },
                    }
                ],
            }
        )

    assert SiteGraph(site(with_areas=True)).zone_of_device("cam") == "kiosk"  # smaller zone wins
    assert SiteGraph(site(with_areas=False)).zone_of_device("cam") is None
