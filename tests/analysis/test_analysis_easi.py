import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.analysis.easi import (
    EasiOptions,
    Element,
    Response,
    critical_detection_point,
    easi,
    easi_with,
    p_interruption_deterministic,
)
from bastion.core.errors import InvalidInput


def test_single_element_at_beginning_with_delay_equal_to_response_is_half() -> None:
    result = easi([Element("door", 1.0, "B", 300.0, 90.0)], Response(300.0, 90.0))
    assert result.p_interruption == pytest.approx(0.5, abs=1e-12)


def test_normal_tail_artefact_for_end_located_last_element() -> None:
    result = easi([Element("vault", 0.8, "E", 120.0, 30.0)], Response(60.0, 20.0))
    assert result.p_interruption == pytest.approx(0.00135 * 0.8, rel=1e-2)
    assert result.terms[0].p_timely == pytest.approx(0.0013499, rel=1e-4)


def test_worked_two_element_path_matches_hand_calculation() -> None:
    path = [Element("fence", 0.9, "B", 90.0, 27.0), Element("door", 0.5, "E", 300.0, 90.0)]
    result = easi(path, Response(300.0, 90.0), p_communication=0.95)
    z1 = (390.0 - 300.0) / math.sqrt(27.0**2 + 90.0**2 + 90.0**2)
    z2 = -300.0 / 90.0
    phi = lambda z: 0.5 * math.erfc(-z / math.sqrt(2))  # noqa: E731
    expected = 0.95 * (0.9 * phi(z1) + 0.1 * 0.5 * phi(z2))
    assert result.p_interruption == pytest.approx(expected, rel=1e-12)


def test_variance_conventions_differ_on_all_m_path() -> None:
    path = [Element(f"e{i}", 0.5, "M", 100.0, 30.0) for i in range(3)]
    a = easi(path, Response(200.0, 60.0), variance="theta_squared").p_interruption
    b = easi(path, Response(200.0, 60.0), variance="theta").p_interruption
    assert abs(a - b) > 1e-4


def test_pc_placements_differ_and_per_element_is_less_conservative() -> None:
    path = [Element("a", 0.9, "B", 200.0, 60.0), Element("b", 0.9, "B", 200.0, 60.0)]
    glob = easi(path, Response(150.0, 45.0), p_communication=0.8).p_interruption
    per = easi(
        path, Response(150.0, 45.0), p_communication=0.8, pc_placement="per_element"
    ).p_interruption
    assert per > glob


def test_zero_variance_tie_counts_as_timely() -> None:
    path = [Element("a", 0.7, "B", 100.0, 0.0)]
    assert easi(path, Response(100.0, 0.0)).p_interruption == 0.7
    assert easi(path, Response(100.001, 0.0)).p_interruption == 0.0


def test_cdp_is_last_timely_element() -> None:
    path = [
        Element("a", 0.5, "B", 100.0),
        Element("b", 0.5, "M", 100.0),
        Element("c", 0.5, "E", 100.0),
    ]
    assert critical_detection_point(path, 150.0) == 1
    assert critical_detection_point(path, 301.0) is None
    assert p_interruption_deterministic(path, 150.0, p_communication=0.9) == pytest.approx(
        0.9 * 0.75
    )


element_st = st.builds(
    Element,
    name=st.just("x"),
    p_detection=st.floats(0, 1),
    location=st.sampled_from(["B", "M", "E"]),
    delay_mean=st.floats(0, 500),
    delay_sd=st.floats(0.1, 100),
)


@settings(max_examples=150, deadline=None)
@given(
    path=st.lists(element_st, min_size=1, max_size=6),
    rft=st.floats(1, 1500),
    pc=st.floats(0, 1),
)
def test_sigma_to_zero_converges_to_cdp_formula(path: list[Element], rft: float, pc: float) -> None:
    exact = p_interruption_deterministic(path, rft, p_communication=pc)
    remaining = [
        sum(e.delay_mean for e in path[i + 1 :]) + e.theta * e.delay_mean
        for i, e in enumerate(path)
    ]
    # Skip near-ties, where the limit of Φ is 1/2 instead of the step.
    if min(abs(r - rft) for r in remaining) < 1e-3:
        return
    scale = 1e-7
    shrunk = [
        Element(e.name, e.p_detection, e.location, e.delay_mean, e.delay_sd * scale) for e in path
    ]
    value = easi(shrunk, Response(rft, 50.0 * scale), p_communication=pc).p_interruption
    assert value == pytest.approx(exact, abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"p_detection": 1.2}, "'door' p_detection"),
        ({"p_detection": -0.1}, "'door' p_detection"),
        ({"delay_mean": -1.0}, "'door' delay mean"),
        ({"delay_sd": -1.0}, "'door' delay sd"),
        ({"location": "X"}, "'door' location"),
    ],
)
def test_invalid_elements_name_the_element(kwargs: dict[str, object], needle: str) -> None:
    base: dict[str, object] = {
        "name": "door",
        "p_detection": 0.5,
        "location": "B",
        "delay_mean": 1.0,
    }
    base.update(kwargs)
    with pytest.raises(InvalidInput, match=needle):
        Element(**base)  # type: ignore[arg-type]


def test_empty_path_and_bad_globals_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="path"):
        easi([], Response(10.0))
    with pytest.raises(InvalidInput, match="response mean"):
        Response(-5.0)
    with pytest.raises(InvalidInput, match="p_communication"):
        EasiOptions(Response(5.0), 1.5)


def test_result_terms_sum_to_p_interruption() -> None:
    path = [Element("a", 0.3, "M", 50.0, 15.0), Element("b", 0.6, "B", 80.0, 24.0)]
    opts = EasiOptions(Response(60.0, 18.0), 0.9)
    result = easi_with(path, opts)
    assert 0.9 * sum(t.contribution for t in result.terms) == pytest.approx(result.p_interruption)
    assert result.terms[1].p_first_detection == pytest.approx(0.7 * 0.6)
