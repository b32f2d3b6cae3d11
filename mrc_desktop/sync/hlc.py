"""Hybrid logical clock (HLC) timestamps: wall milliseconds, a counter, the desk id.

Merge picks, per field, the value with the highest timestamp; every replica must
therefore agree on the order, and a desk must never stamp an edit lower than a value
it has already seen (or its edit would lose to the value it replaced). An HLC gives
both: it follows the wall clock, counts within a millisecond, moves past every
timestamp received (``Clock.observe``), and ends with the desk id, so two desks never
make the same one. The text form sorts as the timestamp does, so SQL compares them
as strings.

The timestamps written by the database triggers come from the same rule
(``storage.change_capture.tick``); the clock's last value lives in the store's
``sync_clock`` table, so a restarted desk never goes back.

A desk whose clock is far behind sees timestamps from the future: more than 5 minutes
ahead earns a warning (``skew_warning``), more than 24 hours is refused
(``ClockSkewError``) — one badly set clock must not stamp values that outrank every
edit for a day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mrc_desktop.storage.change_capture import (
    HLC_PATTERN,
    format_hlc,
    system_wall_ms,
    tick,
)

MINUTE_MS = 60_000
WARN_AHEAD_MS = 5 * MINUTE_MS
MAX_AHEAD_MS = 24 * 60 * MINUTE_MS


class ClockSkewError(ValueError):
    """A received timestamp is too far ahead of this desk's clock to be accepted."""


@dataclass(frozen=True, order=True)
class Timestamp:
    ms: int
    counter: int
    desk_id: str

    @property
    def text(self) -> str:
        return format_hlc(self.ms, self.counter, self.desk_id)

    def __str__(self) -> str:
        return self.text

    @classmethod
    def parse(cls, text: str) -> Timestamp:
        match = HLC_PATTERN.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not a timestamp: {str(text)[:80]!r}")
        return cls(int(match[1]), int(match[2]), match[3])


def is_timestamp(text: object) -> bool:
    return isinstance(text, str) and HLC_PATTERN.match(text) is not None


def ahead_ms(remote: Timestamp, wall_ms: int) -> int:
    """How far ``remote`` is ahead of the wall clock (0 if it is not)."""
    return max(0, remote.ms - wall_ms)


def skew_warning(ahead: int) -> str | None:
    """An English warning if a received timestamp was more than 5 minutes ahead."""
    if ahead <= WARN_AHEAD_MS:
        return None
    minutes = ahead // MINUTE_MS
    return (
        f"another desk's clock is {minutes} minutes ahead of this one:"
        " check the date and time on both desks"
    )


class Clock:
    """One desk's clock: ``now()`` for a new timestamp, ``observe()`` for a received one."""

    def __init__(
        self,
        desk_id: str,
        last: Timestamp | None = None,
        wall_ms: Callable[[], int] = system_wall_ms,
    ) -> None:
        self.desk_id = desk_id
        self.last = last
        self.wall_ms = wall_ms
        self.max_ahead_ms = 0  # the furthest a received timestamp was ahead of the wall clock

    def now(self) -> Timestamp:
        last = self.last.text if self.last else ""
        self.last = Timestamp.parse(tick(last, self.desk_id, self.wall_ms()))
        return self.last

    def observe(self, remote: Timestamp) -> None:
        """Move past ``remote`` so the next ``now()`` is higher; refuse one from > 24 h ahead."""
        ahead = ahead_ms(remote, self.wall_ms())
        if ahead > MAX_AHEAD_MS:
            hours = ahead // (60 * MINUTE_MS)
            raise ClockSkewError(
                f"a change from desk {remote.desk_id} is stamped {hours} hours ahead of this"
                " desk's clock; check the date and time on both desks"
            )
        self.max_ahead_ms = max(self.max_ahead_ms, ahead)
        mine = self.last
        if mine is None or (remote.ms, remote.counter) > (mine.ms, mine.counter):
            self.last = Timestamp(remote.ms, remote.counter, self.desk_id)
