import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.analysis.easi import EasiOptions, Element, Response, easi
from bastion.analysis.paths import (
    PathEdge,
    brute_force_graph,
    brute_force_layered,
    graph_mvp,
    layered_mvp,
)
from bastion.core.errors import InvalidInput

element_st = st.builds(
    Element,
    name=st.sampled_from(["a", "b", "c"]),
    p_detection=st.one_of(st.sampled_from([0.0, 0.5, 0.9, 1.0]), st.floats(0, 1)),
    location=st.sampled_from(["B", "M", "E"]),
    delay_mean=st.floats(0, 300),
    delay_sd=st.one_of(st.just(0.0), st.floats(0, 100)),
)
options_st = st.builds(
    EasiOptions,
    response=st.builds(
        Response, mean=st.floats(0, 600), sd=st.one_of(st.just(0.0), st.floats(0, 150))
    ),
    p_communication=st.floats(0, 1),
    variance=st.sampled_from(["theta_squared", "theta"]),
    pc_placement=st.sampled_from(["global", "per_element"]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=st.lists(st.lists(element_st, min_size=1, max_size=4), min_size=1, max_size=4),
    options=options_st,
    mode=st.sampled_from(["deterministic", "stochastic"]),
)
def test_layered_mvp_equals_brute_force(layers, options, mode) -> None:  # type: ignore[no-untyped-def]
    fast = layered_mvp(layers, options, mode=mode)
    slow = brute_force_layered(layers, options, mode=mode)
    assert fast.p_interruption == pytest.approx(slow.p_interruption, abs=1e-9)
    assert len(fast.choice) == len(layers)


@st.composite
def graphs(draw):  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 5))
    nodes = ["outside", *(f"z{i}" for i in range(n))]
    edges = []
    for i in range(draw(st.integers(1, 10))):
        a, b = draw(st.permutations(nodes))[:2]
        edges.append(PathEdge(f"e{i}", a, b, draw(element_st)))
    edges.append(PathEdge("direct", "outside", nodes[-1], draw(element_st)))
    return edges, nodes[-1]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs(), options=options_st, mode=st.sampled_from(["deterministic", "stochastic"]))
def test_graph_mvp_equals_brute_force_over_simple_paths(graph, options, mode) -> None:  # type: ignore[no-untyped-def]
    edges, target = graph
    fast = graph_mvp(edges, options, target=target, mode=mode)
    slow = brute_force_graph(edges, options, target=target, mode=mode)
    assert fast.p_interruption == pytest.approx(slow.p_interruption, abs=1e-9)
    assert len(set(fast.nodes)) == len(fast.nodes)
    assert fast.nodes[0] == "outside" and fast.nodes[-1] == target


def test_stochastic_and_deterministic_mvps_can_differ() -> None:
    # Layer 0: a sure-detected long element vs. a lightly detected short one; the delay
    # variance of the long alternative makes its (timely) detection uncertain under EASI.
    opts = EasiOptions(Response(100.0, 10.0), 1.0)
    layers = [
        [Element("slow", 0.6, "B", 100.0, 60.0), Element("quiet", 0.5, "B", 100.0, 0.0)],
        [Element("end", 0.0, "E", 5.0, 0.0)],
    ]
    det = layered_mvp(layers, opts, mode="deterministic")
    sto = layered_mvp(layers, opts, mode="stochastic")
    assert det.choice != sto.choice
    assert det.choice == (1, 0)
    assert sto.choice == (0, 0)


def test_prefix_p_interruption_is_not_a_lower_bound() -> None:
    opts = EasiOptions(Response(100.0, 1.0), 1.0)
    prefix = [Element("early", 1.0, "B", 1000.0, 0.0)]
    longer = [*prefix, Element("wild", 0.0, "B", 0.001, 5000.0)]
    assert (
        easi(longer, opts.response).p_interruption
        < easi(prefix, opts.response).p_interruption - 0.3
    )


def test_result_reports_cdp_and_timeline() -> None:
    opts = EasiOptions(Response(60.0, 0.0), 1.0)
    layers = [[Element("fence", 0.8, "M", 20.0)], [Element("door", 0.9, "E", 60.0)]]
    result = layered_mvp(layers, opts, mode="deterministic")
    assert result.critical_detection_point == 0
    assert [s.end_s for s in result.timeline] == [20.0, 80.0]
    assert result.timeline[0].timely and not result.timeline[1].timely
    assert result.p_interruption == pytest.approx(0.8)


def test_identical_alternatives_map_back_to_original_indices() -> None:
    opts = EasiOptions(Response(60.0, 18.0), 0.95)
    twin = Element("w", 0.1, "B", 20.0, 6.0)
    layers = [[Element("x", 0.9, "B", 20.0, 6.0), twin, twin], [Element("y", 0.5, "M", 30.0, 9.0)]]
    assert layered_mvp(layers, opts).choice == (1, 0)


def test_bad_models_are_rejected() -> None:
    opts = EasiOptions(Response(60.0))
    with pytest.raises(InvalidInput, match=r"layers\[1\]"):
        layered_mvp([[Element("a", 0.5)], []], opts)
    edges = [PathEdge("e", "outside", "yard", Element("a", 0.5))]
    with pytest.raises(InvalidInput, match="'vault'"):
        graph_mvp(edges, opts, target="vault")
