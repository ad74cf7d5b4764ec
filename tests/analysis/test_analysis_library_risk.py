import pytest

from bastion.analysis.library import DEFAULT_LIBRARY, Component, combine_detection, pd_from_tests
from bastion.analysis.risk import (
    CarverScore,
    carver_rank,
    conditional_risk,
    risk,
    system_effectiveness,
)
from bastion.core.errors import InvalidInput, NotFound


@pytest.mark.parametrize(
    ("target", "misses", "trials"),
    [(0.90, 0, 29), (0.90, 1, 46), (0.90, 2, 61), (0.95, 0, 59), (0.95, 1, 93), (0.95, 2, 124)],
)
def test_clopper_pearson_table(target: float, misses: int, trials: int) -> None:
    assert pd_from_tests(trials - misses, trials) >= target
    # One trial fewer is not enough: the table gives the minimum.
    assert pd_from_tests(trials - 1 - misses, trials - 1) < target


def test_clopper_pearson_edges() -> None:
    assert pd_from_tests(0, 10) == 0.0
    assert pd_from_tests(3, 3) < 0.4  # 3 of 3 is not "Pd = 100 %"
    with pytest.raises(InvalidInput, match="pd_successes"):
        pd_from_tests(11, 10)
    with pytest.raises(InvalidInput, match="pd_trials"):
        pd_from_tests(0, 0)


def test_combine_complementary_sensors() -> None:
    assert combine_detection([0.9, 0.8]) == pytest.approx(0.98)
    assert combine_detection([]) == 0.0
    with pytest.raises(InvalidInput):
        combine_detection([1.5])


def test_library_has_provenance_and_default_sd() -> None:
    vault = DEFAULT_LIBRARY.get("class5_vault_door", "force")
    assert vault.source_label == "V" and vault.delay_mean_s == 600
    assert vault.sd == pytest.approx(180.0)
    assert DEFAULT_LIBRARY.resolve("", "door:personnel") == "hollow_metal_door"
    with pytest.raises(NotFound):
        DEFAULT_LIBRARY.methods("unobtainium")
    tested = Component("x", "climb", "none", 10, "test", "V", pd_trials=29, pd_successes=29)
    assert tested.p_detection > 0.9


def test_effectiveness_and_risk() -> None:
    eff = system_effectiveness(0.8)
    assert eff.neutralization_assumed and eff.p_effectiveness == 0.8
    eff = system_effectiveness(0.8, 0.5)
    assert not eff.neutralization_assumed and eff.p_effectiveness == pytest.approx(0.4)
    assert conditional_risk(0.4, 100.0) == pytest.approx(60.0)
    assert risk(0.1, 0.4, 100.0) == pytest.approx(6.0)
    with pytest.raises(InvalidInput, match="p_neutralization"):
        system_effectiveness(0.5, 2.0)


def test_carver_ranking_matches_field_guide_example() -> None:
    scores = [
        CarverScore("fuel tanks", 8, 9, 3, 8, 5, 6),
        CarverScore("fuel pumps", 8, 6, 2, 10, 5, 3),
        CarverScore("boilers", 6, 2, 10, 4, 5, 4),
        CarverScore("turbines", 8, 6, 10, 7, 5, 9),
    ]
    ranked = carver_rank(scores)
    assert [(r, s.target, s.total) for r, s in ranked] == [
        (1, "turbines", 45),
        # The reference prints 41, but 8+9+3+8+5+6 = 39; the other three totals match.
        (2, "fuel tanks", 39),
        (3, "fuel pumps", 34),
        (4, "boilers", 31),
    ]


def test_carver_validation() -> None:
    with pytest.raises(InvalidInput, match="'vault' effect"):
        CarverScore("vault", 5, 5, 5, 5, 11, 5)
    with pytest.raises(InvalidInput, match="'vault' criticality"):
        CarverScore("vault", 6, 5, 5, 5, 5, 5, scale=5)
    tie = carver_rank([CarverScore("a", 5, 5, 5, 5, 5, 5), CarverScore("b", 5, 5, 5, 5, 5, 5)])
    assert [r for r, _ in tie] == [1, 1]
