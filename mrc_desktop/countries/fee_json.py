"""Fee checks as JSON: the input format of `mrc fees check`, and the stored result.

Input::

    {
      "origin": "NP", "destination": "MY",
      "wage": {"amount": "1700", "currency": "MYR"},          # per month
      "rates": {"NPR": "137"},                                  # optional, units per USD
      "domestic_work": false,                                   # optional
      "items": [
        {"kind": "recruitment_fee", "amount": "150000", "currency": "NPR",
         "date": "2025-03-01", "paid_to": "agency", "receipt": false}
      ]
    }

Amounts are strings or integers (never floats: 0.1 + 0.2 is not 0.3). The result
holds the input, each verdict with its reason codes and citations, totals, months of
wages and risk flags, so a case can keep it and show it again later.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from mrc_desktop.countries.fees import CostItem, FeeInput, FeeResult, Reason


class FeeInputError(ValueError):
    """The JSON is not a fee check; ``field`` names where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _decimal(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, (float, bool)):
        raise FeeInputError(field, "write amounts as strings or whole numbers, not decimals")
    try:
        number = Decimal(str(value).replace(",", ""))
    except InvalidOperation as exc:
        raise FeeInputError(field, f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise FeeInputError(field, f"not a number: {value!r}")
    return number


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise FeeInputError(field, f"not a date (YYYY-MM-DD): {value!r}") from exc


def parse_fee_input(data: Any) -> FeeInput:
    if not isinstance(data, dict):
        raise FeeInputError("(top)", "expected a JSON object")
    wage = data.get("wage") or {}
    if not isinstance(wage, dict):
        raise FeeInputError("wage", 'expected {"amount": ..., "currency": ...}')
    items_raw = data.get("items", [])
    if not isinstance(items_raw, list):
        raise FeeInputError("items", "expected a list")
    items = []
    for index, raw in enumerate(items_raw):
        where = f"items[{index}]"
        if not isinstance(raw, dict):
            raise FeeInputError(where, "expected an object")
        items.append(
            CostItem(
                kind=str(raw.get("kind", "")),
                amount=_decimal(raw.get("amount"), f"{where}.amount"),
                currency=str(raw.get("currency", "")).upper(),
                paid_on=_date(raw.get("date"), f"{where}.date"),
                paid_to=str(raw.get("paid_to", "")),
                receipt=bool(raw.get("receipt", False)),
            )
        )
    rates_raw = data.get("rates", {}) or {}
    if not isinstance(rates_raw, dict):
        raise FeeInputError("rates", 'expected {"CUR": units per USD}')
    rates = {}
    for code, value in rates_raw.items():
        rate = _decimal(value, f"rates.{code}")
        if rate is not None and rate > 0:
            rates[str(code).upper()] = rate
    return FeeInput(
        origin=str(data.get("origin", "")).upper(),
        destination=str(data.get("destination", "")).upper(),
        wage=_decimal(wage.get("amount"), "wage.amount"),
        wage_currency=str(wage.get("currency", "")).upper(),
        items=tuple(items),
        rates=rates,
        checked_on=_date(data.get("checked_on"), "checked_on"),
        domestic_work=bool(data.get("domestic_work", False)),
    )


def _num(value: Decimal | None, places: str = "0.01") -> str | None:
    return None if value is None else str(value.quantize(Decimal(places)))


def _reason(item: Reason) -> dict[str, Any]:
    return {"code": item.code, **dict(item.params)}


def result_to_dict(result: FeeResult) -> dict[str, Any]:
    fee_input = result.fee_input
    return {
        "origin": fee_input.origin,
        "destination": fee_input.destination,
        "corridor_rule": result.corridor.fee_policy.kind if result.corridor else None,
        "domestic_work": fee_input.domestic_work,
        "wage": {"amount": _num(fee_input.wage), "currency": fee_input.wage_currency},
        "items": [
            {
                "kind": v.item.kind,
                "amount": _num(v.item.amount),
                "currency": v.item.currency,
                "date": v.item.paid_on.isoformat() if v.item.paid_on else None,
                "paid_to": v.item.paid_to,
                "receipt": v.item.receipt,
                "verdict": v.verdict,
                "reasons": [_reason(r) for r in v.reasons],
                "citations": list(v.citations),
                "in_worker_currency": _num(v.in_worker_currency),
                "in_destination_currency": _num(v.in_destination_currency),
            }
            for v in result.items
        ],
        "worker_currency": result.worker_currency,
        "destination_currency": result.destination_currency,
        "total_worker": _num(result.total_worker),
        "total_destination": _num(result.total_destination),
        "not_lawful_destination": _num(result.not_lawful_destination),
        "months_to_repay": _num(result.months_to_repay, "0.1"),
        "flags": [_reason(f) for f in result.flags],
        "problems": [{"field": p.field, "code": p.code} for p in result.problems],
        "rates": {
            "as_of": result.rates.as_of.isoformat() if result.rates.as_of else None,
            "status": result.rates.status,
            "entered": {k: str(v) for k, v in fee_input.rates.items()},
        },
    }
