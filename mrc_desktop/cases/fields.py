"""The intake form's fields (seed-brief §10C): what each is called and how it is entered.

Kept apart from the widgets so the form, the case page and the CSV documentation name
fields the same way. Labels are N_-marked; translate where shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from mrc_desktop.cases import vocab
from mrc_desktop.i18n import N_


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # line | choice | country | agency | date | text
    choices: dict[str, str] | None = None
    hint: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]


SECTIONS = (
    Section(
        N_("The worker"),
        (
            Field("person_name", N_("Name (or a nickname)"), "line"),
            Field("sex", N_("Sex"), "choice", vocab.SEXES),
            Field("birth_date", N_("Date of birth"), "date", hint=N_("YYYY-MM-DD, if known")),
            Field("age", N_("Age in years"), "line", hint=N_("If the date of birth is not known")),
            Field("nationality", N_("Nationality"), "line"),
            Field("language", N_("Language the worker prefers"), "line"),
            Field("phone", N_("Phone"), "line", hint=N_("With the country code, e.g. +855")),
            Field("messaging", N_("Messaging app or other contact"), "line"),
        ),
    ),
    Section(
        N_("Migration"),
        (
            Field("origin_country", N_("Country of origin"), "country"),
            Field("destination_country", N_("Country of destination"), "country"),
            Field("stage", N_("Stage of migration"), "choice", vocab.STAGES),
            Field("migration_status", N_("Migration status"), "choice", vocab.MIGRATION_STATUS),
            Field(
                "scheme",
                N_("Scheme or programme"),
                "line",
                hint=N_("For example EPS, an MoU or a bilateral agreement"),
            ),
        ),
    ),
    Section(
        N_("Recruitment and work"),
        (
            Field("sector", N_("Sector"), "choice", vocab.SECTORS),
            Field("occupation", N_("Occupation"), "line"),
            Field("employer", N_("Employer"), "line"),
            Field(
                "recruitment_channel", N_("How the worker was recruited"), "choice", vocab.CHANNELS
            ),
            Field("agency_id", N_("Recruitment agency"), "agency"),
            Field("contract_written", N_("Written contract"), "choice", vocab.YES_NO_UNKNOWN),
            Field(
                "contract_substituted",
                N_("Contract replaced by a worse one"),
                "choice",
                vocab.YES_NO_UNKNOWN,
            ),
            Field(
                "documents_held_by", N_("Who holds the passport"), "choice", vocab.DOCUMENT_HOLDERS
            ),
            Field("wage_agreed", N_("Wage promised"), "line", hint=N_("Amount, currency, period")),
            Field(
                "wage_paid", N_("Wage actually paid"), "line", hint=N_("Amount, currency, period")
            ),
            Field("union_member", N_("Union member"), "choice", vocab.YES_NO_UNKNOWN),
            Field("retaliation_risk", N_("Risk of retaliation"), "choice", vocab.RETALIATION_RISK),
        ),
    ),
)
NARRATIVE = Field(
    "narrative",
    N_("What happened"),
    "text",
    hint=N_("In the worker's words: what, when, where, who. Keep to the facts."),
)
FIELDS = {f.name: f for s in SECTIONS for f in s.fields} | {NARRATIVE.name: NARRATIVE}
# Fields whose values are lists or per-purpose records, with their own widgets.
CATEGORIES_LABEL = N_("Grievance categories")
FORCED_LABOUR_LABEL = N_("ILO indicators of forced labour seen")
CONSENT_LABEL = N_("Consent given by the worker")


def label_of(name: str) -> str:
    """The N_-marked label of any case field (for messages and the audit view)."""
    extra = {
        "categories": CATEGORIES_LABEL,
        "forced_labour": FORCED_LABOUR_LABEL,
        "consent": CONSENT_LABEL,
        "status": N_("Status"),
        "assignee": N_("Counsellor"),
        "reference": N_("Reference"),
    }
    return FIELDS[name].label if name in FIELDS else extra.get(name, name)
