"""Hybrid logical clock: timestamps only grow, sort as text, and move past what a desk sees."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mrc_desktop.storage.change_capture import tick
from mrc_desktop.sync.hlc import (
    MAX_AHEAD_MS,
    MINUTE_MS,
    Clock,
    ClockSkewError,
    Timestamp,
    skew_warning,
)
from tests.sync.desks import START_MS, open_desk, oplog

DESK_A = "0190f0a0-0000-7000-8000-0000000000a1"
DESK_B = "0190f0a0-0000-7000-8000-0000000000b2"

walls = st.lists(st.integers(0, 2**40), min_size=1, max_size=60)
timestamps = st.builds(
    Timestamp,
    st.integers(0, 10**13 - 1),
    st.integers(0, 99_999),
    st.sampled_from([DESK_A, DESK_B]),
)


def test_the_text_form_reads_back() -> None:
    stamp = Timestamp(START_MS, 7, DESK_A)
    assert stamp.text == f"{START_MS}-00007-{DESK_A}"
    assert Timestamp.parse(stamp.text) == stamp
    with pytest.raises(ValueError, match="not a timestamp"):
        Timestamp.parse("1790000000000-7-" + DESK_A)


@given(walls)
def test_timestamps_only_grow_whatever_the_wall_clock_does(readings: list[int]) -> None:
    times = iter(readings)
    clock = Clock(DESK_A, wall_ms=lambda: next(times))
    stamps = [clock.now() for _ in readings]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # The text form sorts the same way: SQL compares timestamps as strings.
    assert [s.text for s in stamps] == sorted(s.text for s in stamps)
    for stamp, wall in zip(stamps, readings, strict=True):
        assert stamp.ms >= wall  # never behind the wall clock


@given(timestamps, timestamps)
def test_text_order_is_timestamp_order(a: Timestamp, b: Timestamp) -> None:
    assert (a < b) == (a.text < b.text)


def test_the_counter_counts_within_a_millisecond_and_then_moves_on() -> None:
    def stamp(ms: int, counter: int, desk: str = DESK_A) -> str:
        return Timestamp(ms, counter, desk).text

    assert tick("", DESK_A, START_MS) == stamp(START_MS, 0)
    assert tick(stamp(START_MS, 0, DESK_B), DESK_A, START_MS) == stamp(START_MS, 1)
    assert tick(stamp(START_MS, 3), DESK_A, START_MS - 10) == stamp(START_MS, 4)
    assert tick(stamp(START_MS, 99_999), DESK_A, START_MS) == stamp(START_MS + 1, 0)
    assert tick(stamp(START_MS, 3), DESK_A, START_MS + 1) == stamp(START_MS + 1, 0)


@given(timestamps, st.integers(0, 2**40))
def test_after_observing_a_timestamp_the_next_one_is_higher(remote: Timestamp, wall: int) -> None:
    clock = Clock(DESK_A, wall_ms=lambda: wall)
    if remote.ms - wall > MAX_AHEAD_MS:
        with pytest.raises(ClockSkewError):
            clock.observe(remote)
        return
    clock.observe(remote)
    mine = clock.now()
    assert (mine.ms, mine.counter) > (remote.ms, remote.counter)
    assert mine.desk_id == DESK_A


def test_a_timestamp_a_day_ahead_is_refused_and_five_minutes_ahead_warns() -> None:
    clock = Clock(DESK_A, wall_ms=lambda: START_MS)
    with pytest.raises(ClockSkewError, match="25 hours ahead"):
        clock.observe(Timestamp(START_MS + 25 * 60 * MINUTE_MS, 0, DESK_B))
    assert clock.last is None  # nothing observed
    clock.observe(Timestamp(START_MS + 4 * MINUTE_MS, 0, DESK_B))
    assert skew_warning(clock.max_ahead_ms) is None
    clock.observe(Timestamp(START_MS + 12 * MINUTE_MS, 0, DESK_B))
    assert clock.max_ahead_ms == 12 * MINUTE_MS
    assert "12 minutes ahead" in (skew_warning(clock.max_ahead_ms) or "")
    clock.observe(Timestamp(START_MS - 10 * MINUTE_MS, 0, DESK_B))  # an old edit: no news
    assert clock.max_ahead_ms == 12 * MINUTE_MS


def test_a_restarted_desk_never_goes_back(tmp_path: Path) -> None:
    """The clock's last value lives in the store: after a restart with the wall clock set
    back by an hour, the desk's next edit is still stamped after its earlier ones."""
    desk = open_desk(tmp_path, "a")
    case_id = desk.repo.create_case({"person_name": "Invented Person"})
    before = max(r["hlc"] for r in oplog(desk.db))
    desk.set_clock(START_MS - 60 * MINUTE_MS)
    desk.reopen()
    desk.repo.update_case(case_id, {"status": "in_progress"})
    [status] = oplog(desk.db, col="status", row_id=case_id)[1:]
    assert status["hlc"] > before
    assert Timestamp.parse(status["hlc"]).ms == START_MS  # held at the last time seen
    desk.db.close()
