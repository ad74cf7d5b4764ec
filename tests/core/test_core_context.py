import time

from ulid import ULID

from bastion.core.context import Context, _UlidSource, new_id


def test_ids_are_valid_ulids_in_strict_order():
    ids = [new_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    parsed = ULID.from_str(ids[-1])
    assert str(parsed) == ids[-1]
    assert abs(parsed.timestamp - time.time()) < 60


def test_ids_within_one_millisecond_increment_the_random_part(monkeypatch):
    source = _UlidSource()
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000_000_000)
    first, second = source.next(), source.next()
    a, b = ULID.from_str(first), ULID.from_str(second)
    assert a.milliseconds == b.milliseconds == 1_700_000_000_000
    assert int(b) - int(a) == 1


def test_random_part_overflow_moves_to_the_next_millisecond(monkeypatch):
    source = _UlidSource()
    monkeypatch.setattr(time, "time_ns", lambda: 1_700_000_000_000_000_000)
    source.next()
    source._last_random = (1 << 80) - 1
    after = ULID.from_str(source.next())
    assert after.milliseconds == 1_700_000_000_001


def test_child_context_points_at_its_parent():
    parent = Context(actor="device:rdr-1")
    child = parent.child()
    assert child.parent_id == parent.id and child.id > parent.id and child.actor == "device:rdr-1"
