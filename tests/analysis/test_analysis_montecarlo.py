import dataclasses
import math

import pytest

from bastion.analysis.easi import (
    EasiOptions,
    Element,
    Response,
    easi_with,
    p_interruption_deterministic,
)
from bastion.analysis.montecarlo import clopper_pearson, monte_carlo
from bastion.analysis.sensitivity import sensitivities
from bastion.core.errors import InvalidInput

WORKED = [
    Element("fence", 0.9, "B", 90.0, 27.0),
    Element("door", 0.5, "M", 300.0, 90.0),
    Element("vault", 0.7, "E", 120.0, 30.0),
]


def test_monte_carlo_agrees_with_half_case() -> None:
    path = [Element("door", 1.0, "B", 300.0, 90.0)]
    options = EasiOptions(Response(300.0, 90.0))
    mc = monte_carlo(path, options, samples=100_000, seed=3)
    assert easi_with(path, options).p_interruption == pytest.approx(0.5)
    assert mc.contains(0.5)
    assert mc.high - mc.low < 0.01


@pytest.mark.parametrize("variance", ["theta_squared", "theta"])
@pytest.mark.parametrize("placement", ["global", "per_element"])
def test_monte_carlo_agrees_with_easi_on_worked_path(variance: str, placement: str) -> None:
    options = EasiOptions(Response(300.0, 90.0), 0.95, variance, placement)  # type: ignore[arg-type]
    analytic = easi_with(WORKED, options).p_interruption
    mc = monte_carlo(WORKED, options, samples=200_000, seed=11)
    assert mc.low <= analytic <= mc.high
    assert mc.interrupted == round(mc.p_interruption * mc.samples)


def test_monte_carlo_matches_cdp_formula_when_deterministic() -> None:
    path = [
        Element("a", 0.5, "B", 100.0),
        Element("b", 0.5, "M", 100.0),
        Element("c", 0.5, "E", 100.0),
    ]
    options = EasiOptions(Response(150.0, 0.0), 0.9)
    exact = p_interruption_deterministic(path, 150.0, p_communication=0.9)
    mc = monte_carlo(path, options, samples=50_000, seed=5)
    assert exact == pytest.approx(0.9 * 0.75)
    assert mc.contains(exact)


def test_monte_carlo_is_reproducible_with_a_seed() -> None:
    options = EasiOptions(Response(300.0, 90.0), 0.95)
    a = monte_carlo(WORKED, options, samples=5_000, seed=42)
    b = monte_carlo(WORKED, options, samples=5_000, seed=42)
    assert a == b


def test_clopper_pearson_edges() -> None:
    assert clopper_pearson(0, 10, 0.95)[0] == 0.0
    assert clopper_pearson(10, 10, 0.95)[1] == 1.0
    low, high = clopper_pearson(50, 100, 0.95)
    assert low < 0.5 < high


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"samples": 0}, "samples"),
        ({"samples": 10**9}, "samples"),
        ({"confidence": 1.0}, "confidence"),
    ],
)
def test_monte_carlo_rejects_bad_settings(kwargs: dict[str, float], needle: str) -> None:
    with pytest.raises(InvalidInput, match=needle):
        monte_carlo(WORKED, EasiOptions(Response(1.0)), **kwargs)  # type: ignore[arg-type]


# --- sensitivities -----------------------------------------------------------------------


def test_sensitivity_of_half_case_by_hand() -> None:
    path = [Element("door", 1.0, "B", 300.0, 90.0)]
    sens = sensitivities(path, EasiOptions(Response(300.0, 90.0)))
    density = 1.0 / math.sqrt(2.0 * math.pi)
    s = math.sqrt(2.0) * 90.0
    assert sens.elements[0].d_p_detection == pytest.approx(0.5)
    assert sens.elements[0].d_delay_mean == pytest.approx(density / s)
    assert sens.d_response_mean == pytest.approx(-density / s)
    assert sens.d_response_sd == pytest.approx(0.0, abs=1e-15)  # z = 0: spread does not matter
    assert sens.d_p_communication == pytest.approx(0.5)


def _fd(make: object, h: float = 1e-5) -> float:
    up, down = make(h), make(-h)  # type: ignore[operator]
    return (up - down) / (2 * h)  # type: ignore[no-any-return]


@pytest.mark.parametrize("variance", ["theta_squared", "theta"])
@pytest.mark.parametrize("placement", ["global", "per_element"])
def test_sensitivities_match_finite_differences(variance: str, placement: str) -> None:
    def p_i(path: list[Element], mean: float = 300.0, sd: float = 90.0, pc: float = 0.95) -> float:
        opts = EasiOptions(Response(mean, sd), pc, variance, placement)  # type: ignore[arg-type]
        return easi_with(path, opts).p_interruption

    options = EasiOptions(Response(300.0, 90.0), 0.95, variance, placement)  # type: ignore[arg-type]
    sens = sensitivities(WORKED, options)
    for k, element in enumerate(WORKED):
        for field, got in (
            ("p_detection", sens.elements[k].d_p_detection),
            ("delay_mean", sens.elements[k].d_delay_mean),
            ("delay_sd", sens.elements[k].d_delay_sd),
        ):

            def shifted(
                h: float, k: int = k, element: Element = element, field: str = field
            ) -> float:
                path = list(WORKED)
                path[k] = dataclasses.replace(element, **{field: getattr(element, field) + h})
                return p_i(path)

            assert got == pytest.approx(_fd(shifted), rel=1e-5, abs=1e-9), (element.name, field)
    assert sens.d_response_mean == pytest.approx(_fd(lambda h: p_i(WORKED, mean=300 + h)), rel=1e-5)
    assert sens.d_response_sd == pytest.approx(_fd(lambda h: p_i(WORKED, sd=90 + h)), rel=1e-5)
    assert sens.d_p_communication == pytest.approx(
        _fd(lambda h: p_i(WORKED, pc=0.95 + h)), rel=1e-5
    )


def test_detection_after_the_cdp_barely_matters() -> None:
    sens = sensitivities(WORKED, EasiOptions(Response(300.0, 90.0), 0.95))
    assert sens.strongest() is not None
    assert sens.strongest().name == "fence"  # type: ignore[union-attr]
    assert sens.elements[2].d_p_detection < 1e-3
