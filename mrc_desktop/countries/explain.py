"""Fee-checker results as sentences, in any of the 13 languages (the worker's, or the UI's).

Reason codes from ``fees.py`` map to marked strings here; ``explain_*`` translate them
through the catalog of the language asked for, so the same result can be read to the
worker in their language and filed in the counsellor's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from decimal import Decimal

from mrc_desktop.countries.fees import CHECK, LAWFUL, NOT_LAWFUL, FeeResult, ItemVerdict, Reason
from mrc_desktop.i18n import N_, format_number, translation_for
from mrc_desktop.storage.paths import locales_dir

VERDICTS = {
    LAWFUL: N_("Lawful for the worker to pay"),
    NOT_LAWFUL: N_("Not lawful: the worker should not have paid this"),
    CHECK: N_("Needs checking"),
}
KINDS = {
    "recruitment_fee": N_("Recruitment or placement fee"),
    "service_charge": N_("Service charge"),
    "medical": N_("Medical examination"),
    "skills_test": N_("Skills test"),
    "training": N_("Training or orientation"),
    "visa": N_("Visa"),
    "work_permit": N_("Work permit"),
    "ticket": N_("Air or travel ticket"),
    "documents": N_("Documents (passport, certificates)"),
    "insurance": N_("Insurance"),
    "welfare_fund": N_("Welfare fund"),
    "deposit": N_("Deposit or bond"),
    "loan_deduction": N_("Loan or salary deduction"),
    "other": N_("Other"),
}
REASONS = {
    "invalid_item": N_(
        "Some details of this cost are missing or wrong; correct them to get a verdict."
    ),
    "deposit_item": N_(
        "Deposits and bonds can trap a worker in a job; they are a warning sign "
        "of debt bondage. Ask what it was for and whether it will be returned."
    ),
    "loan_item": N_(
        "A loan repaid from wages can become debt bondage. Check the amount, the "
        "interest and who lent the money."
    ),
    "other_item": N_("Find out what this payment was for, then check it against the rule."),
    "no_corridor_rule_ilo": N_(
        "There is no data for this corridor. Under the ILO definition of "
        "recruitment fees and related costs, workers should not pay "
        "recruitment fees or related costs; check the national rules."
    ),
    "corridor_has_no_rule": N_(
        "No specific fee rule was found for this corridor. Under the ILO "
        "definition, workers should not pay recruitment fees or related "
        "costs, but neither country has ratified C181: check national "
        "law."
    ),
    "c181_ratified": N_(
        "No specific corridor rule, but {countries} ratified ILO C181, whose "
        "Article 7 says agencies must not charge workers any fees or costs."
    ),
    "employer_pays": N_("The corridor rule says the employer pays this cost."),
    "zero_cost": N_("The corridor rule says the worker pays no recruitment costs."),
    "worker_may_pay": N_("The corridor rule allows the worker to be asked to pay this."),
    "within_cap": N_(
        "Agency fees together ({total} {currency}) are within the legal maximum of "
        "{cap} {currency}."
    ),
    "over_cap": N_(
        "Agency fees together ({total} {currency}) are over the legal maximum of "
        "{cap} {currency} by {excess} {currency}."
    ),
    "cap_needs_wage": N_(
        "The maximum fee is {months} month(s) of wages: enter the contract wage to check it."
    ),
    "missing_rate": N_(
        "There is no exchange rate for {currency}: enter one to compare with the legal maximum."
    ),
    "rule_silent_ilo": N_(
        "The corridor rule does not mention this cost. Under the ILO "
        "definition it is a related cost the employer should pay; check "
        "before asking for it back."
    ),
    "rule_not_verified": N_(
        "The corridor rule is only {status} in our data, so this verdict must be confirmed."
    ),
    "before_rule": N_("This was paid before the rule started on {since}."),
    "high_debt": N_("The worker paid about {months} months of wages: a high risk of debt bondage."),
    "flag_deposit": N_("A deposit or bond was taken: a warning sign of debt bondage."),
    "flag_loan": N_("Costs are being repaid from wages: check for debt bondage."),
    "flag_no_receipt": N_(
        "Agency fees were paid without a receipt: ask for one, and write down "
        "the date, amount and who was paid."
    ),
    "flag_reclaim": N_(
        "The worker may be able to claim back the costs marked not lawful: see "
        "How to complain safely."
    ),
}
FIELD_PROBLEMS = {
    "unknown_country": N_("Choose a country from the list."),
    "no_corridor_data": N_(
        "There is no data for this corridor yet; verdicts can only point to ILO standards."
    ),
    "missing_wage": N_("Enter the monthly wage in the contract."),
    "wage_not_positive": N_("The wage must be more than zero."),
    "unknown_currency": N_("Unknown currency: choose one from the list."),
    "unknown_kind": N_("Choose what the cost was for."),
    "missing_amount": N_("Enter the amount paid."),
    "negative_amount": N_("The amount cannot be negative."),
    "absurd_amount": N_("This amount is far too large; check for extra zeros."),
    "future_date": N_("The date is in the future."),
}


def _tr(lang: str) -> Callable[[str], str]:
    return translation_for(lang, locales_dir()).gettext


NUMERIC_PARAMS = ("cap", "total", "excess", "months")


def reason_text(item_reason: Reason, lang: str) -> str:
    template = _tr(lang)(REASONS.get(item_reason.code, item_reason.code))
    params = dict(item_reason.params)
    for name in NUMERIC_PARAMS:
        if name in params:
            with contextlib.suppress(ArithmeticError):
                params[name] = format_number(Decimal(params[name]), lang)
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def money(amount: Decimal | None, currency: str, lang: str) -> str:
    if amount is None:
        return "—"
    return f"{format_number(amount.quantize(Decimal(1)), lang)} {currency}"


def explain_item(verdict: ItemVerdict, lang: str) -> list[str]:
    tr = _tr(lang)
    lines = [
        f"{tr(KINDS[verdict.item.kind]) if verdict.item.kind in KINDS else verdict.item.kind}"
        f": {tr(VERDICTS[verdict.verdict])}"
    ]
    lines += [reason_text(r, lang) for r in verdict.reasons]
    return lines


def explain(result: FeeResult, lang: str) -> str:
    """The whole result as plain text in ``lang``."""
    tr = _tr(lang)
    parts: list[str] = []
    for verdict in result.items:
        amount = money(verdict.item.amount, verdict.item.currency, lang)
        lines = explain_item(verdict, lang)
        parts.append(f"{verdict.index + 1}. {lines[0]} ({amount})")
        parts += [f"   {line}" for line in lines[1:]]
    parts.append(
        tr(N_("Total paid: {worker} = {destination}")).format(
            worker=money(result.total_worker, result.worker_currency, lang),
            destination=money(result.total_destination, result.destination_currency, lang),
        )
    )
    if result.months_to_repay is not None:
        parts.append(
            tr(N_("Months of wages needed to repay: {months}")).format(
                months=format_number(result.months_to_repay.quantize(Decimal("0.1")), lang)
            )
        )
    parts += [reason_text(flag, lang) for flag in result.flags]
    return "\n".join(parts)
