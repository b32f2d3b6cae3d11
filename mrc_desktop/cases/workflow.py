"""Workflow steps on a case: notes, actions, referrals and their outcomes, follow-ups.

Each step is one append-only entry (two desks adding steps never conflict). A referral of
a new or in-progress case moves it to "referred"; an outcome moves a referred case to
"awaiting response" or, when the organisation resolved it, leaves the decision to close
it to the counsellor. Every function validates first and raises ``ValidationError`` with
field names, so nothing is written half-way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from mrc_desktop.cases import vocab
from mrc_desktop.cases.repository import CaseRepository, ValidationError
from mrc_desktop.cases.validation import BIDI_CONTROLS, clean_text
from mrc_desktop.i18n import N_

MAX_NOTE = 20_000
MAX_NAME = 200
MAX_CONTACT = 1000


def _text(problems: dict[str, str], name: str, value: str, limit: int, required: bool) -> str:
    value = clean_text(value)
    if required and not value:
        problems[name] = N_("This cannot be empty.")
    elif len(value) > limit:
        problems[name] = N_("Too long: shorten it.")
    elif any(c in BIDI_CONTROLS for c in value):
        problems[name] = N_("Contains hidden direction marks that can disguise text: retype it.")
    return value


def _date(problems: dict[str, str], name: str, value: str, required: bool = True) -> str:
    if not value and not required:
        return ""
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        problems[name] = N_("Write the date as YYYY-MM-DD.")
    return value


def add_note(repo: CaseRepository, case_id: str, text: str, kind: str = "note") -> str:
    if kind not in ("note", "action"):
        raise ValueError(kind)
    problems: dict[str, str] = {}
    text = _text(problems, "text", text, MAX_NOTE, required=True)
    if problems:
        raise ValidationError(problems)
    return repo.add_entry(case_id, kind, {"text": text})


def refer(
    repo: CaseRepository,
    case_id: str,
    org_kind: str,
    org_name: str,
    sent_on: str,
    reason: str = "",
    contact: str = "",
) -> str:
    problems: dict[str, str] = {}
    if org_kind not in vocab.ORG_KINDS:
        problems["org_kind"] = N_("Choose one of the options.")
    org_name = _text(problems, "org_name", org_name, MAX_NAME, required=True)
    contact = _text(problems, "contact", contact, MAX_CONTACT, required=False)
    reason = _text(problems, "reason", reason, MAX_NOTE, required=False)
    _date(problems, "sent_on", sent_on)
    if problems:
        raise ValidationError(problems)
    status = repo.open_case_header(case_id)["status"]
    payload = {
        "org_kind": org_kind,
        "org_name": org_name,
        "contact": contact,
        "sent_on": sent_on,
        "text": reason or org_name,
    }
    new_status = "referred" if status in ("new", "in_progress") else None
    return repo.add_entry(case_id, "referral", payload, status=new_status)


def record_outcome(
    repo: CaseRepository, case_id: str, referral_id: str, outcome: str, on: str, text: str = ""
) -> str:
    problems: dict[str, str] = {}
    if outcome not in vocab.REFERRAL_OUTCOMES:
        problems["outcome"] = N_("Choose one of the options.")
    _date(problems, "on", on)
    text = _text(problems, "text", text, MAX_NOTE, required=False)
    if referral_id not in {r["id"] for r in referrals(repo, case_id)}:
        problems["referral"] = N_("Choose a referral of this case.")
    if problems:
        raise ValidationError(problems)
    status = repo.open_case_header(case_id)["status"]
    new_status = "awaiting_response" if outcome == "accepted" and status == "referred" else None
    payload = {"referral": referral_id, "outcome": outcome, "on": on, "text": text}
    return repo.add_entry(case_id, "referral_update", payload, status=new_status)


def set_follow_up(repo: CaseRepository, case_id: str, due_on: str, text: str) -> str:
    problems: dict[str, str] = {}
    _date(problems, "due_on", due_on)
    text = _text(problems, "text", text, MAX_NOTE, required=True)
    if problems:
        raise ValidationError(problems)
    return repo.add_entry(case_id, "follow_up", {"due_on": due_on, "text": text})


def complete_follow_up(
    repo: CaseRepository, case_id: str, follow_up_id: str, note: str = ""
) -> str:
    open_ids = {f.id for f in follow_ups(repo, case_id) if not f.done}
    if follow_up_id not in open_ids:
        raise ValidationError({"follow_up": N_("This follow-up is already done.")})
    payload = {"follow_up": follow_up_id, "on": dt.date.today().isoformat(), "text": note}
    return repo.add_entry(case_id, "follow_up_done", payload)


@dataclass(frozen=True)
class FollowUp:
    id: str
    due_on: str
    text: str
    done: bool


def follow_ups(repo: CaseRepository, case_id: str) -> list[FollowUp]:
    entries = repo.entries(case_id)
    done = {e["payload"].get("follow_up") for e in entries if e["kind"] == "follow_up_done"}
    return [
        FollowUp(
            e["id"], e["payload"].get("due_on", ""), e["payload"].get("text", ""), e["id"] in done
        )
        for e in entries
        if e["kind"] == "follow_up"
    ]


def referrals(repo: CaseRepository, case_id: str) -> list[dict[str, Any]]:
    """Referrals of a case, each with its latest outcome (or none yet)."""
    entries = repo.entries(case_id)
    latest: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e["kind"] == "referral_update":
            latest[e["payload"].get("referral", "")] = e["payload"]
    return [
        {
            "id": e["id"],
            "created_at": e["created_at"],
            **e["payload"],
            "outcome": latest.get(e["id"]),
        }
        for e in entries
        if e["kind"] == "referral"
    ]
