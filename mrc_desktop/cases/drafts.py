"""Unsaved forms, kept inside the encrypted store so nothing typed is lost.

A draft is written a moment after each change, before the desk locks and when the window
closes; it is deleted when the form is saved. One draft per user and form (e.g.
``intake:new`` or ``intake:<case id>``). Drafts stay on this desk: they are never synced.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils


@dataclass(frozen=True)
class Draft:
    form: str
    saved_at: str
    payload: dict[str, Any]


def save_draft(db: sqlite_utils.Database, user_id: str, form: str, payload: dict[str, Any]) -> None:
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with db.conn:
        db.execute(
            "insert or replace into drafts (user_id, form, saved_at, payload) values (?, ?, ?, ?)",
            [user_id, form, stamp, json.dumps(payload, ensure_ascii=False, sort_keys=True)],
        )


def load_draft(db: sqlite_utils.Database, user_id: str, form: str) -> Draft | None:
    row = db.execute(
        "select saved_at, payload from drafts where user_id = ? and form = ?", [user_id, form]
    ).fetchone()
    if row is None:
        return None
    try:
        payload = json.loads(row[1])
    except ValueError:
        return None
    return Draft(form, row[0], payload) if isinstance(payload, dict) else None


def discard_draft(db: sqlite_utils.Database, user_id: str, form: str) -> None:
    with db.conn:
        db.execute("delete from drafts where user_id = ? and form = ?", [user_id, form])


def list_drafts(db: sqlite_utils.Database, user_id: str) -> list[Draft]:
    rows = db.execute(
        "select form, saved_at, payload from drafts where user_id = ? order by saved_at desc",
        [user_id],
    ).fetchall()
    return [Draft(r[0], r[1], json.loads(r[2])) for r in rows]
