"""One captured change of one field, and its JSON form for batches and bundles.

A ``Change`` says: at timestamp ``hlc`` desk ``origin`` set column ``col`` of row
``row_id`` in table ``tbl`` to ``value``, replacing the version(s) stamped ``base``
('' for a first value; several, space-separated, when an edit settles a conflict).
It is checked when made, so a malformed one never reaches the database: received
JSON goes through ``Change.from_json``, whose errors name the field at fault.

On the wire a value is a JSON string, number or null; a blob (an attachment's
content) is ``{"b64": "..."}``. Booleans do not occur in the store and are refused.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mrc_desktop.storage.change_capture import HLC_PATTERN

Value = str | int | float | bytes | None
FIELDS = ("hlc", "origin", "tbl", "row_id", "col", "value", "base")
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ROW_ID = re.compile(r"^[0-9A-Za-z_.:-]{1,100}$")


class ChangeFormatError(ValueError):
    """A change is malformed; the message names the field."""


@dataclass(frozen=True)
class Change:
    hlc: str
    origin: str
    tbl: str
    row_id: str
    col: str
    value: Value
    base: str = ""

    def __post_init__(self) -> None:
        match = HLC_PATTERN.match(self.hlc) if isinstance(self.hlc, str) else None
        if match is None:
            raise ChangeFormatError(f"hlc: not a timestamp: {str(self.hlc)[:80]!r}")
        if self.origin != match[3]:
            raise ChangeFormatError("origin: is not the desk that made the timestamp")
        for name in ("tbl", "col"):
            text = getattr(self, name)
            if not isinstance(text, str) or not _IDENTIFIER.match(text):
                raise ChangeFormatError(f"{name}: not a table or column name: {str(text)[:80]!r}")
        if not isinstance(self.row_id, str) or not _ROW_ID.match(self.row_id):
            raise ChangeFormatError(f"row_id: not a row id: {str(self.row_id)[:80]!r}")
        _check_value(self.value)
        if not isinstance(self.base, str):
            raise ChangeFormatError("base: not text")
        bases = self.base.split(" ") if self.base else []
        if bases != sorted(set(bases)):
            raise ChangeFormatError("base: timestamps must be sorted and distinct")
        for base in bases:
            if not HLC_PATTERN.match(base):
                raise ChangeFormatError(f"base: not a timestamp: {base[:80]!r}")
            if base >= self.hlc:
                raise ChangeFormatError("base: a change can only replace an older version")

    @property
    def bases(self) -> frozenset[str]:
        return frozenset(self.base.split(" ")) if self.base else frozenset()

    @property
    def field(self) -> tuple[str, str, str]:
        return (self.tbl, self.row_id, self.col)

    def to_json(self) -> dict[str, Any]:
        value: Any = self.value
        if isinstance(value, bytes):
            value = {"b64": base64.b64encode(value).decode("ascii")}
        return {
            "hlc": self.hlc,
            "origin": self.origin,
            "tbl": self.tbl,
            "row_id": self.row_id,
            "col": self.col,
            "value": value,
            "base": self.base,
        }

    @classmethod
    def from_json(cls, data: object) -> Change:
        if not isinstance(data, dict):
            raise ChangeFormatError("a change must be a JSON object")
        missing = [k for k in FIELDS if k not in data]
        if missing:
            raise ChangeFormatError(f"{missing[0]}: missing")
        unknown = sorted(str(k) for k in data if k not in FIELDS)
        if unknown:
            raise ChangeFormatError(f"{unknown[0][:40]}: unknown field")
        value = data["value"]
        if isinstance(value, dict):
            if set(value) != {"b64"} or not isinstance(value["b64"], str):
                raise ChangeFormatError('value: an object must be {"b64": text}')
            try:
                value = base64.b64decode(value["b64"].encode("ascii"), validate=True)
            except (binascii.Error, UnicodeEncodeError) as exc:
                raise ChangeFormatError("value: not base64") from exc
        return cls(
            data["hlc"],
            data["origin"],
            data["tbl"],
            data["row_id"],
            data["col"],
            value,
            data["base"],
        )


def changes_from_json(items: Iterable[object]) -> list[Change]:
    """Every change of a received list, or ChangeFormatError naming the first bad one."""
    changes = []
    for index, item in enumerate(items):
        try:
            changes.append(Change.from_json(item))
        except ChangeFormatError as exc:
            raise ChangeFormatError(f"change {index}: {exc}") from exc
    return changes


def _check_value(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, str | int | float | bytes | None):
        raise ChangeFormatError(
            f"value: not text, a number, bytes or null ({type(value).__name__})"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ChangeFormatError("value: not a finite number")
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ChangeFormatError("value: integer out of range")
