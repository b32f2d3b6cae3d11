"""Identifiers made on the desk: UUIDv7 (RFC 9562), sortable by creation time."""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last = 0


def uuid7(now_ms: int | None = None) -> str:
    """A UUIDv7 string: 48-bit Unix milliseconds, version 7, RFC variant, 74 random bits.

    Within this process ids only grow (RFC 9562 §6.2, "monotonic random"): two ids made in
    the same millisecond are ordered as they were made, so "order by id" is creation order.
    """
    global _last
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & 0x3FFF_FFFF_FFFF_FFFF
    if now_ms is None:
        with _lock:
            if value <= _last:  # same millisecond (or the clock stepped back): count on
                value = _next_after(_last)
            _last = value
    h = f"{value:032x}"  # formatted by hand: importing uuid costs ~6 ms at every start
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _next_after(value: int) -> int:
    """The next id after ``value``, keeping the version and variant bits in place."""
    rand_b = (value & 0x3FFF_FFFF_FFFF_FFFF) + 1
    if rand_b <= 0x3FFF_FFFF_FFFF_FFFF:
        return (value & ~0x3FFF_FFFF_FFFF_FFFF) | rand_b
    rand_a = ((value >> 64) & 0xFFF) + 1
    if rand_a <= 0xFFF:
        return (value & ~(0xFFF << 64) & ~0x3FFF_FFFF_FFFF_FFFF) | (rand_a << 64)
    ms = (value >> 80) + 1  # both counters ran out: borrow the next millisecond
    return (ms << 80) | (0x7 << 76) | (0b10 << 62)
