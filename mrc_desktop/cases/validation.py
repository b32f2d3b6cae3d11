"""Checking intake fields; each problem is a field name and an N_-marked message."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from mrc_desktop.cases import vocab
from mrc_desktop.i18n import N_

MAX_TEXT = {
    "person_name": 200,
    "employer": 200,
    "occupation": 120,
    "nationality": 80,
    "language": 80,
    "origin_country": 2,
    "destination_country": 2,
    "reference": 40,
    "phone": 40,
    "messaging": 120,
    "scheme": 120,
    "documents_held_by": 120,
    "narrative": 20_000,
    "assignee": 120,
    "wage_agreed": 60,
    "wage_paid": 60,
}
PHONE = re.compile(r"^[0-9+()\- ]*$")
BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}
CHOICES = {
    "status": vocab.STATUSES,
    "sex": vocab.SEXES,
    "migration_status": vocab.MIGRATION_STATUS,
    "stage": vocab.STAGES,
    "sector": vocab.SECTORS,
    "recruitment_channel": vocab.CHANNELS,
    "contract_written": vocab.YES_NO_UNKNOWN,
    "contract_substituted": vocab.YES_NO_UNKNOWN,
    "union_member": vocab.YES_NO_UNKNOWN,
    "retaliation_risk": vocab.RETALIATION_RISK,
    "documents_held_by": vocab.DOCUMENT_HOLDERS,
}


def clean_text(value: str) -> str:
    """NFC, trimmed; what is stored for every text field."""
    return unicodedata.normalize("NFC", value).strip()


def validate_case(fields: dict[str, Any], today: dt.date | None = None) -> dict[str, str]:
    problems: dict[str, str] = {}
    today = today or dt.date.today()
    for name, limit in MAX_TEXT.items():
        value = fields.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            problems[name] = N_("This field must be text.")
            continue
        if len(value) > limit:
            problems[name] = N_("Too long: shorten it.")
        elif name != "narrative" and any(unicodedata.category(c) == "Cc" for c in value):
            problems[name] = N_("Contains invisible control characters: retype it.")
        elif any(c in BIDI_CONTROLS for c in value):
            problems[name] = N_(
                "Contains hidden direction marks that can disguise text: retype it."
            )
    if "person_name" in fields and not clean_text(str(fields["person_name"] or "")):
        problems.setdefault("person_name", N_("Enter the worker's name (or a nickname)."))
    phone = fields.get("phone")
    if isinstance(phone, str) and phone and not PHONE.match(phone):
        problems.setdefault("phone", N_("A phone number can hold digits, spaces, + - ( ) only."))
    birth = fields.get("birth_date")
    if isinstance(birth, str) and birth:
        try:
            born = dt.date.fromisoformat(birth)
        except ValueError:
            problems["birth_date"] = N_("Write the date as YYYY-MM-DD.")
        else:
            if born > today:
                problems["birth_date"] = N_("The date of birth is in the future.")
            elif (today - born).days < 365 * 10 or (today - born).days > 365 * 100:
                problems["birth_date"] = N_("Check the date of birth: the age is not plausible.")
    age = fields.get("age")
    if isinstance(age, str) and age and (not age.isdigit() or not 10 <= int(age) <= 100):
        problems["age"] = N_("Enter the age in years (10 to 100).")
    for name, allowed in CHOICES.items():
        value = fields.get(name)
        if value and value not in allowed:
            problems[name] = N_("Choose one of the options.")
    categories = fields.get("categories")
    if categories is not None and (
        not isinstance(categories, list) or any(c not in vocab.CATEGORIES for c in categories)
    ):
        problems["categories"] = N_("Choose categories from the list.")
    indicators = fields.get("forced_labour")
    if indicators is not None and (
        not isinstance(indicators, list)
        or any(i not in vocab.FORCED_LABOUR_INDICATORS for i in indicators)
    ):
        problems["forced_labour"] = N_("Choose indicators from the list.")
    consent = fields.get("consent")
    if consent is not None and (
        not isinstance(consent, dict) or any(k not in vocab.CONSENT_PURPOSES for k in consent)
    ):
        problems["consent"] = N_("Consent must be recorded per purpose.")
    return problems
