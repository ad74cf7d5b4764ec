"""Gap analysis: the vectorised scan agrees with the plain interval merge and names every hole."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.maintenance.gaps import Gap, naive_scan, scan


def test_contiguous_ten_second_segments_cover_the_hour():
    starts = np.arange(0, 3600, 10, dtype=np.float64)
    coverage = scan(starts, starts + 10, 0, 3600)
    assert coverage.percent == 100.0 and coverage.gaps == () and coverage.segments == 360


def test_a_planted_gap_is_listed_and_small_restarts_are_tolerated():
    starts = np.arange(0, 3600, 10, dtype=np.float64)
    ends = starts + 10
    keep = (starts < 1200) | (starts >= 1500)  # five minutes missing
    ends[10] -= 1.5  # an ffmpeg restart: 1.5 s short
    coverage = scan(starts[keep], ends[keep], 0, 3600, min_gap_s=2)
    assert coverage.gaps == (Gap(1200, 1500),)
    assert coverage.recorded_s == pytest.approx(3600 - 300 - 1.5)
    assert coverage.percent == pytest.approx(100 * 3298.5 / 3600)


def test_missing_edges_overlaps_and_unsorted_segments():
    starts = np.array([300.0, 100.0, 150.0])
    ends = np.array([400.0, 200.0, 260.0])
    coverage = scan(starts, ends, 0, 500, min_gap_s=1)
    assert coverage.gaps == (Gap(0, 100), Gap(260, 300), Gap(400, 500))
    assert coverage.overlap_s == pytest.approx(50)
    assert coverage.recorded_s == pytest.approx(260)


def test_no_segments_is_one_gap_over_the_whole_period():
    coverage = scan(np.array([]), np.array([]), 0, 60)
    assert coverage.percent == 0 and coverage.gaps == (Gap(0, 60),)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="period"):
        scan(np.array([0.0]), np.array([1.0]), 10, 10)
    with pytest.raises(ValueError, match="same length"):
        scan(np.array([0.0, 1.0]), np.array([1.0]), 0, 10)


segments = st.lists(
    st.tuples(st.integers(-50, 1000), st.integers(1, 60)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(segments, st.integers(0, 20))
def test_the_scan_agrees_with_the_plain_merge(pairs, tolerance):
    starts = np.array([p[0] for p in pairs], dtype=np.float64)
    ends = np.array([p[1] for p in pairs], dtype=np.float64)
    coverage = scan(starts, ends, 0, 900, min_gap_s=tolerance)
    recorded, gaps = naive_scan([(float(a), float(b)) for a, b in pairs], 0, 900, tolerance)
    assert coverage.recorded_s == pytest.approx(recorded)
    assert [(g.start, g.end) for g in coverage.gaps] == gaps


@settings(max_examples=100, deadline=None)
@given(segments, st.integers(0, 20), st.integers(1, 7))
def test_the_block_by_block_sweep_agrees_across_block_edges(pairs, tolerance, block):
    from bastion.maintenance import gaps as module

    original = module.BLOCK
    module.BLOCK = block
    try:
        ordered = sorted(pairs)
        starts = np.array([p[0] for p in ordered], dtype=np.float64)
        ends = np.array([p[1] for p in ordered], dtype=np.float64)
        coverage = scan(starts, ends, 0, 900, min_gap_s=tolerance)
    finally:
        module.BLOCK = original
    recorded, gaps = naive_scan([(float(a), float(b)) for a, b in pairs], 0, 900, tolerance)
    assert coverage.recorded_s == pytest.approx(recorded)
    assert [(g.start, g.end) for g in coverage.gaps] == gaps
