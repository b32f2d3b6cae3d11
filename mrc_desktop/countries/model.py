"""Country profiles and corridor rules as plain data (loaded from content/*.toml)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from mrc_desktop.problems import is_stale

INSTRUMENTS = ("C97", "C143", "C181", "C189", "P029", "C188")
RATIFICATION_STATUSES = ("ratified", "not_found", "not_member", "applied", "planned")
FACT_STATUSES = ("verified", "partly_verified", "unverified")
ROLES = ("origin", "destination", "both")
PERIODS = ("hour", "day", "month")
COVERAGE = ("yes", "no", "partly", "unknown")
CHANNELS = ("g2g", "mou", "private_agency", "direct", "public_service")
ORG_KINDS = ("union", "legal_aid", "ngo", "labour_office", "embassy")
FEE_POLICY_KINDS = ("zero_cost", "cap_amount", "cap_months", "none")
CAP_COVERS = ("agency_fees", "all_costs")
COST_KINDS = (
    "recruitment_fee",
    "service_charge",
    "medical",
    "skills_test",
    "training",
    "visa",
    "work_permit",
    "ticket",
    "documents",
    "insurance",
    "welfare_fund",
    "deposit",
    "loan_deduction",
    "other",
)


@dataclass(frozen=True)
class Sourced:
    """What every section carries: how sure we are, as of when, and from where."""

    status: str
    as_of: dt.date
    sources: tuple[str, ...]

    def is_stale(self, today: dt.date | None = None) -> bool:
        return is_stale(self.as_of, today)


@dataclass(frozen=True)
class Ratification:
    instrument: str
    status: str
    year: int | None = None
    note: str = ""


@dataclass(frozen=True)
class MinimumWage:
    sourced: Sourced
    amount: Decimal | None
    currency: str
    period: str
    covers_migrants: str
    who: str


@dataclass(frozen=True)
class TextFact:
    sourced: Sourced
    text: str


@dataclass(frozen=True)
class Channel:
    sourced: Sourced
    name: str
    phone: str = ""
    web: str = ""
    languages: tuple[str, ...] = ()
    hours: str = ""
    note: str = ""


@dataclass(frozen=True)
class Organization:
    sourced: Sourced
    name: str
    kind: str
    contact: str = ""
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Country:
    code: str
    role: str
    reviewed: dt.date
    names: dict[str, str]
    ratifications: dict[str, Ratification]
    ratifications_sourced: Sourced
    minimum_wage: MinimumWage | None = None
    weekly_rest: TextFact | None = None
    documents: TextFact | None = None
    channels: tuple[Channel, ...] = ()
    organizations: tuple[Organization, ...] = ()

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("en") or self.code


@dataclass(frozen=True)
class FeePolicy:
    sourced: Sourced
    kind: str
    summary: str
    applies_to: str = ""
    cap_amount: Decimal | None = None
    cap_currency: str = ""
    cap_months: Decimal | None = None
    effective_from: dt.date | None = None
    worker_may_pay: tuple[str, ...] = ()
    employer_pays: tuple[str, ...] = ()
    cap_covers: str = "agency_fees"  # or "all_costs": the cap is on everything the worker paid
    domestic_workers_pay_nothing: bool = False  # e.g. Philippines household service workers


@dataclass(frozen=True)
class TypicalCost:
    sourced: Sourced
    what: str
    amount: Decimal | None = None
    currency: str = ""


@dataclass(frozen=True)
class Corridor:
    origin: str
    destination: str
    reviewed: dt.date
    channels: tuple[str, ...]
    sources: tuple[str, ...]
    fee_policy: FeePolicy
    documents_needed: tuple[str, ...] = ()
    pre_departure: str = ""
    typical_costs: tuple[TypicalCost, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.origin}-{self.destination}"


@dataclass
class CountryData:
    countries: dict[str, Country] = field(default_factory=dict)
    corridors: dict[str, Corridor] = field(default_factory=dict)

    def corridor(self, origin: str, destination: str) -> Corridor | None:
        return self.corridors.get(f"{origin}-{destination}")
