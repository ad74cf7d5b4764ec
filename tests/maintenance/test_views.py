"""Camera view checks on real footage: people walking is fine; the four tamper cases are caught."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from bastion.maintenance.views import Reference, Verdict, decode, pixel_difference
from tests.maintenance import frames as footage


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference(footage.frames()[0])


def test_later_frames_with_people_walking_through_match_the_reference(reference):
    verdicts = [reference.check(frame).verdict for frame in footage.frames()[1:]]
    assert verdicts == [Verdict.OK] * len(verdicts)


@pytest.mark.parametrize(
    ("tamper", "verdict", "words"),
    [
        (footage.covered, Verdict.COVERED, "covered"),
        (footage.defocused, Verdict.DEFOCUSED, "as sharp"),
        (footage.shifted, Verdict.MOVED, "shifted"),
        (footage.blocked, Verdict.BLOCKED, "hidden"),
    ],
)
def test_each_kind_of_tampering_is_named(reference, tamper, verdict, words):
    result = reference.check(tamper(footage.frames()[3]))
    assert result.verdict is verdict
    assert words in result.detail


def test_a_blocked_view_names_the_hidden_cells_in_the_lower_left(reference):
    result = reference.check(footage.blocked(footage.frames()[3]))
    rows = {r for r, _ in result.blocked_cells}
    cols = {c for _, c in result.blocked_cells}
    assert min(rows) >= 2 and max(cols) <= 3


def test_a_turned_camera_is_moved(reference):
    frame = footage.frames()[2]
    h, w = frame.shape[:2]
    turned = cv2.warpAffine(
        frame,
        cv2.getRotationMatrix2D((w / 2, h / 2), 8, 1.0),
        (w, h),
        borderMode=cv2.BORDER_REFLECT,
    )
    result = reference.check(turned)
    assert result.verdict is Verdict.MOVED and "turned" in result.detail


def test_a_full_hd_snapshot_is_checked_against_a_smaller_reference(reference):
    big = cv2.resize(footage.frames()[4], (1920, 1080))
    assert reference.check(big).verdict is Verdict.OK


def test_the_plain_pixel_difference_cannot_tell_people_from_a_covered_lens():
    first, later = footage.frames()[0], footage.frames()[5]
    assert pixel_difference(first, footage.covered(later))
    # It passes a blurred camera that the view check catches.
    assert not pixel_difference(first, footage.defocused(first))


def test_unreadable_snapshots_and_blank_references_are_clear_errors():
    with pytest.raises(ValueError, match="not an image"):
        decode(b"GIF89a garbage")
    with pytest.raises(ValueError, match="empty"):
        decode(b"")
    with pytest.raises(ValueError, match="too little detail"):
        Reference(np.zeros((480, 640, 3), dtype=np.uint8))
    ok, jpeg = cv2.imencode(".jpg", footage.frames()[1])
    assert ok and decode(jpeg.tobytes()).shape == footage.frames()[1].shape
