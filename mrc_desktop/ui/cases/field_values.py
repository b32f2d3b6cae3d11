"""How a case field's stored value is shown: vocabulary labels, names, readable lists.

The case page's summary and the "edited at two desks" banner show the same fields; both
read them here, so a status, a country or a consent record looks the same in each. A
value this desk cannot read (a vocabulary key from a newer version, broken JSON merged
from another desk) is shown as stored rather than failing.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from mrc_desktop import i18n
from mrc_desktop.cases import vocab
from mrc_desktop.cases.fields import FIELDS
from mrc_desktop.i18n import _

# JSON lists of vocabulary keys, and the labels of their keys.
_LISTS = {"categories": vocab.CATEGORIES, "forced_labour": vocab.FORCED_LABOUR_INDICATORS}


def _label(choices: dict[str, str], key: str) -> str:
    return _(choices[key]) if key in choices else key


def _parsed(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value or "null")
    except ValueError:
        return None


def consent_text(value: Any) -> str:
    """The purposes the worker consented to, or "nothing yet"."""
    record = _parsed(value)
    if not isinstance(record, dict):
        return str(value) if value not in (None, "", "{}") else _("nothing yet")
    given = [
        _label(vocab.CONSENT_PURPOSES, key)
        for key, item in record.items()
        if isinstance(item, dict) and item.get("given")
    ]
    return "; ".join(given) if given else _("nothing yet")


def list_text(name: str, value: Any) -> str:
    """A JSON list field (categories, indicators, risk flags) as "; "-separated labels."""
    items = _parsed(value)
    if not isinstance(items, list):
        return "" if value in (None, "", "[]") else str(value)
    choices = _LISTS.get(name, {})
    return "; ".join(_label(choices, str(item)) for item in items)


def field_value_text(db: sqlite_utils.Database | None, name: str, value: Any) -> str:
    """``value`` of case field ``name`` as the interface shows it ("" for no value).

    ``db`` names agencies and counsellors (their ids and user names are stored).
    """
    if name == "consent":
        return consent_text(value)
    if value is None or value == "":
        return ""
    if name in _LISTS or name == "risk_flags":
        return list_text(name, value)
    text = str(value)
    if name == "status":
        return _label(vocab.STATUSES, text)
    if name == "assignee" and db is not None:
        row = db.execute("select display_name from users where username = ?", [text]).fetchone()
        return str(row[0]) if row else text
    if name == "agency_id" and db is not None:
        row = db.execute("select name from agencies where id = ?", [text]).fetchone()
        return str(row[0]) if row else text
    field = FIELDS.get(name)
    if field is not None and field.kind == "country":
        return i18n.country_names().get(text, text)
    if field is not None and field.choices:
        return _label(field.choices, text)
    return text
