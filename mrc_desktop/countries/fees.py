"""The recruitment-fee checker: item by item, what a worker could lawfully be asked to pay.

Each cost gets one verdict — ``lawful`` (the worker may be asked to pay it),
``not_lawful`` or ``needs_checking`` — with reason codes the UI and CLI turn into
sentences (``explain.py``) and the rules it rests on: the corridor's own fee rule
where the data has one, ILO C181 Art. 7 where a country in the corridor ratified it,
and the ILO definition of recruitment fees and related costs (2019) throughout.
The checker never claims more than the data supports: unverified rules, missing
rates, payments made before a rule started or unusual items all give
``needs_checking`` and say why. Results do not depend on the order of the items.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from mrc_desktop.countries.model import COST_KINDS, Corridor, CountryData
from mrc_desktop.countries.rates import RateTable, currency_of

LAWFUL, NOT_LAWFUL, CHECK = "lawful", "not_lawful", "needs_checking"
AGENCY_FEES = ("recruitment_fee", "service_charge")
ALWAYS_CHECK = ("deposit", "loan_deduction", "other")
MAX_USD = Decimal("1000000")  # more than this for one item is taken as a typing mistake
HIGH_DEBT_MONTHS = Decimal("3")
ILO_DEFINITION = (
    "ILO General Principles and Operational Guidelines for Fair Recruitment and "
    "Definition of Recruitment Fees and Related Costs (2019)"
)
C181_ART7 = "ILO C181, Article 7(1)"
FORCED_LABOUR_INDICATORS = "ILO Indicators of Forced Labour (2012): debt bondage"


@dataclass(frozen=True)
class CostItem:
    kind: str
    amount: Decimal | None
    currency: str
    paid_on: dt.date | None = None
    paid_to: str = ""
    receipt: bool = False


@dataclass(frozen=True)
class FeeInput:
    origin: str
    destination: str
    wage: Decimal | None  # contract wage per month
    wage_currency: str
    items: tuple[CostItem, ...]
    rates: dict[str, Decimal] = field(default_factory=dict)  # entered: units per USD
    checked_on: dt.date | None = None
    domestic_work: bool = False  # some corridors forbid any fee for domestic workers


@dataclass(frozen=True)
class Reason:
    code: str
    params: tuple[tuple[str, str], ...] = ()

    def param(self, name: str) -> str:
        return dict(self.params).get(name, "")


def reason(code: str, **params: object) -> Reason:
    return Reason(code, tuple(sorted((k, str(v)) for k, v in params.items())))


@dataclass(frozen=True)
class FieldProblem:
    field: str  # "wage", "corridor", "items[2].amount", ...
    code: str  # message key, see explain.py


@dataclass(frozen=True)
class ItemVerdict:
    index: int
    item: CostItem
    verdict: str
    reasons: tuple[Reason, ...]
    citations: tuple[str, ...]
    in_worker_currency: Decimal | None
    in_destination_currency: Decimal | None


@dataclass(frozen=True)
class FeeResult:
    fee_input: FeeInput
    corridor: Corridor | None
    worker_currency: str
    destination_currency: str
    items: tuple[ItemVerdict, ...]
    total_worker: Decimal | None
    total_destination: Decimal | None
    not_lawful_destination: Decimal | None
    months_to_repay: Decimal | None
    flags: tuple[Reason, ...]
    problems: tuple[FieldProblem, ...]
    rates: RateTable

    def verdict_of(self, index: int) -> str:
        return self.items[index].verdict


def validate(data: CountryData, fee_input: FeeInput, rates: RateTable) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    today = fee_input.checked_on or dt.date.today()
    for key in ("origin", "destination"):
        if getattr(fee_input, key) not in data.countries:
            problems.append(FieldProblem(key, "unknown_country"))
    if data.corridor(fee_input.origin, fee_input.destination) is None:
        problems.append(FieldProblem("corridor", "no_corridor_data"))
    if fee_input.wage is None:
        problems.append(FieldProblem("wage", "missing_wage"))
    elif fee_input.wage <= 0:
        problems.append(FieldProblem("wage", "wage_not_positive"))
    if fee_input.wage_currency not in rates.per_usd:
        problems.append(FieldProblem("wage_currency", "unknown_currency"))
    for index, item in enumerate(fee_input.items):
        where = f"items[{index}]"
        if item.kind not in COST_KINDS:
            problems.append(FieldProblem(f"{where}.kind", "unknown_kind"))
        if item.currency not in rates.per_usd:
            problems.append(FieldProblem(f"{where}.currency", "unknown_currency"))
        if item.amount is None:
            problems.append(FieldProblem(f"{where}.amount", "missing_amount"))
        elif item.amount < 0:
            problems.append(FieldProblem(f"{where}.amount", "negative_amount"))
        else:
            in_usd = rates.convert(item.amount, item.currency, "USD")
            if in_usd is not None and in_usd > MAX_USD:
                problems.append(FieldProblem(f"{where}.amount", "absurd_amount"))
        if item.paid_on is not None and item.paid_on > today:
            problems.append(FieldProblem(f"{where}.date", "future_date"))
    return problems


def check_fees(data: CountryData, fee_input: FeeInput, table: RateTable) -> FeeResult:
    rates = table.with_overrides(fee_input.rates)
    problems = validate(data, fee_input, rates)
    corridor = data.corridor(fee_input.origin, fee_input.destination)
    worker_currency = currency_of(fee_input.origin) if fee_input.origin else ""
    destination_currency = currency_of(fee_input.destination) if fee_input.destination else ""
    bad_items = {
        int(p.field.split("]")[0].split("[")[1]) for p in problems if p.field.startswith("items[")
    }
    wage_ok = not any(p.field in ("wage", "wage_currency") for p in problems)
    monthly_wage_dest = (
        rates.convert(fee_input.wage, fee_input.wage_currency, destination_currency)
        if wage_ok and fee_input.wage
        else None
    )
    ratified_c181 = [
        code
        for code in (fee_input.origin, fee_input.destination)
        if code in data.countries
        and (r := data.countries[code].ratifications.get("C181")) is not None
        and r.status == "ratified"
    ]
    group = _agency_group(
        corridor, fee_input, rates, bad_items, monthly_wage_dest, destination_currency
    )
    verdicts = []
    for index, item in enumerate(fee_input.items):
        if index in bad_items:
            verdicts.append(
                _verdict(
                    index,
                    item,
                    CHECK,
                    (reason("invalid_item"),),
                    (),
                    rates,
                    worker_currency,
                    destination_currency,
                )
            )
            continue
        verdict, reasons, cites = _classify(
            item, corridor, ratified_c181, group, fee_input.domestic_work
        )
        verdicts.append(
            _verdict(
                index, item, verdict, reasons, cites, rates, worker_currency, destination_currency
            )
        )
    total_worker = _total(verdicts, "worker")
    total_destination = _total(verdicts, "destination")
    not_lawful = _total([v for v in verdicts if v.verdict == NOT_LAWFUL], "destination")
    months = (
        total_destination / monthly_wage_dest
        if total_destination is not None and monthly_wage_dest
        else None
    )
    flags = _flags(fee_input, verdicts, months, not_lawful)
    return FeeResult(
        fee_input,
        corridor,
        worker_currency,
        destination_currency,
        tuple(verdicts),
        total_worker,
        total_destination,
        not_lawful,
        months,
        tuple(flags),
        tuple(problems),
        rates,
    )


def _capped(kind: str, corridor: Corridor) -> bool:
    """Whether a cost counts towards the corridor's fee cap."""
    policy = corridor.fee_policy
    if policy.cap_covers == "all_costs":
        return kind not in ALWAYS_CHECK and kind not in policy.employer_pays
    return kind in AGENCY_FEES


@dataclass(frozen=True)
class _AgencyGroup:
    """Agency fees are capped together; the same verdict for each, whatever the order."""

    verdict: str
    reasons: tuple[Reason, ...]


def _agency_group(
    corridor: Corridor | None,
    fee_input: FeeInput,
    rates: RateTable,
    bad_items: set[int],
    monthly_wage_dest: Decimal | None,
    destination_currency: str,
) -> _AgencyGroup | None:
    if corridor is None or corridor.fee_policy.kind not in ("cap_amount", "cap_months"):
        return None
    policy = corridor.fee_policy
    if policy.kind == "cap_amount":
        cap, cap_currency = policy.cap_amount, policy.cap_currency
    else:
        cap = (
            policy.cap_months * monthly_wage_dest
            if policy.cap_months is not None and monthly_wage_dest is not None
            else None
        )
        cap_currency = destination_currency
        if cap is None:
            return _AgencyGroup(CHECK, (reason("cap_needs_wage", months=policy.cap_months),))
    total = Decimal(0)
    for index, item in enumerate(fee_input.items):
        if _capped(item.kind, corridor) and index not in bad_items and item.amount is not None:
            converted = rates.convert(item.amount, item.currency, cap_currency)
            if converted is None:
                return _AgencyGroup(CHECK, (reason("missing_rate", currency=item.currency),))
            total += converted
    assert cap is not None
    if total <= cap:
        return _AgencyGroup(
            LAWFUL,
            (reason("within_cap", cap=f"{cap:.0f}", currency=cap_currency, total=f"{total:.0f}"),),
        )
    return _AgencyGroup(
        NOT_LAWFUL,
        (
            reason(
                "over_cap",
                cap=f"{cap:.0f}",
                currency=cap_currency,
                total=f"{total:.0f}",
                excess=f"{total - cap:.0f}",
            ),
        ),
    )


def _classify(
    item: CostItem,
    corridor: Corridor | None,
    ratified_c181: list[str],
    group: _AgencyGroup | None,
    domestic_work: bool = False,
) -> tuple[str, tuple[Reason, ...], tuple[str, ...]]:
    ilo = (ILO_DEFINITION,) + ((C181_ART7,) if ratified_c181 else ())
    if item.kind in ALWAYS_CHECK:
        code = {"deposit": "deposit_item", "loan_deduction": "loan_item", "other": "other_item"}[
            item.kind
        ]
        return CHECK, (reason(code),), (FORCED_LABOUR_INDICATORS, ILO_DEFINITION)
    if corridor is None:
        return CHECK, (reason("no_corridor_rule_ilo"),), ilo
    policy = corridor.fee_policy
    rule = f"{corridor.key} fee rule: {policy.summary}".strip()
    if policy.kind == "none":
        # C181 Art. 7(2) lets a state allow exceptions, so even where it is ratified the
        # data cannot support a firm verdict without a corridor rule.
        if ratified_c181:
            return CHECK, (reason("c181_ratified", countries=", ".join(ratified_c181)),), ilo
        return CHECK, (reason("corridor_has_no_rule"),), ilo
    verdict: str
    reasons: tuple[Reason, ...]
    if domestic_work and policy.domestic_workers_pay_nothing:
        verdict, reasons = NOT_LAWFUL, (reason("domestic_zero_cost"),)
    elif item.kind in policy.employer_pays:
        verdict, reasons = NOT_LAWFUL, (reason("employer_pays"),)
    elif policy.kind == "zero_cost":
        if item.kind in policy.worker_may_pay:
            verdict, reasons = LAWFUL, (reason("worker_may_pay"),)
        else:
            verdict, reasons = NOT_LAWFUL, (reason("zero_cost"),)
    elif group is not None and _capped(item.kind, corridor):
        verdict, reasons = group.verdict, group.reasons
        if policy.domestic_workers_pay_nothing and verdict == LAWFUL:
            reasons = (*reasons, reason("unless_domestic"))
    elif item.kind in policy.worker_may_pay:
        verdict, reasons = LAWFUL, (reason("worker_may_pay"),)
    else:
        verdict, reasons = CHECK, (reason("rule_silent_ilo"),)
    if verdict != CHECK and policy.sourced.status != "verified":
        reasons = (*reasons, reason("rule_not_verified", status=policy.sourced.status))
        verdict = CHECK
    if (
        verdict != CHECK
        and policy.effective_from is not None
        and item.paid_on is not None
        and item.paid_on < policy.effective_from
    ):
        reasons = (*reasons, reason("before_rule", since=policy.effective_from.isoformat()))
        verdict = CHECK
    return verdict, reasons, (rule, *ilo)


def _verdict(
    index: int,
    item: CostItem,
    verdict: str,
    reasons: tuple[Reason, ...],
    citations: tuple[str, ...],
    rates: RateTable,
    worker_currency: str,
    destination_currency: str,
) -> ItemVerdict:
    def conv(target: str) -> Decimal | None:
        if item.amount is None or item.amount < 0 or not target:
            return None
        return rates.convert(item.amount, item.currency, target)

    return ItemVerdict(
        index, item, verdict, reasons, citations, conv(worker_currency), conv(destination_currency)
    )


def _total(verdicts: list[ItemVerdict], which: str) -> Decimal | None:
    total = Decimal(0)
    for verdict in verdicts:
        value = verdict.in_worker_currency if which == "worker" else verdict.in_destination_currency
        if verdict.item.amount is None or verdict.item.amount < 0:
            continue
        if value is None:
            return None
        total += value
    return total


def _flags(
    fee_input: FeeInput,
    verdicts: list[ItemVerdict],
    months: Decimal | None,
    not_lawful: Decimal | None,
) -> list[Reason]:
    flags = []
    if months is not None and months >= HIGH_DEBT_MONTHS:
        flags.append(reason("high_debt", months=f"{months:.1f}"))
    kinds = {v.item.kind for v in verdicts}
    if "deposit" in kinds:
        flags.append(reason("flag_deposit"))
    if "loan_deduction" in kinds:
        flags.append(reason("flag_loan"))
    if any(v.item.kind in AGENCY_FEES and not v.item.receipt for v in verdicts):
        flags.append(reason("flag_no_receipt"))
    if not_lawful:
        flags.append(reason("flag_reclaim"))
    return flags
