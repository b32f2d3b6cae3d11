"""Exchange rates for the fee checker: a bundled, dated reference table plus rates entered
by the counsellor (which always win). Amounts are Decimal, never float."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from babel.numbers import get_territory_currencies

from mrc_desktop.problems import ContentError, ContentProblem


@dataclass(frozen=True)
class RateTable:
    per_usd: dict[str, Decimal] = field(default_factory=dict)
    as_of: dt.date | None = None
    status: str = "unverified"
    sources: tuple[str, ...] = ()

    def with_overrides(self, entered: dict[str, Decimal]) -> RateTable:
        merged = {**self.per_usd, **{k: v for k, v in entered.items() if v > 0}}
        return RateTable(merged, self.as_of, self.status, self.sources)

    def convert(self, amount: Decimal, source: str, target: str) -> Decimal | None:
        """``amount`` in ``source`` expressed in ``target``; None when a rate is missing."""
        if source == target:
            return amount
        a, b = self.per_usd.get(source), self.per_usd.get(target)
        if not a or not b:
            return None
        return amount / a * b


def load_rates(path: Path) -> RateTable:
    if not path.exists():
        return RateTable()
    try:
        data = tomllib.loads(path.read_text("utf-8"))
        per_usd = {code: Decimal(str(value)) for code, value in data.get("per_usd", {}).items()}
    except (tomllib.TOMLDecodeError, InvalidOperation, UnicodeDecodeError) as exc:
        raise ContentError(
            [ContentProblem(path, 1, f"exchange rate table unreadable: {exc}")]
        ) from exc
    as_of = data.get("as_of")
    return RateTable(
        per_usd,
        as_of if isinstance(as_of, dt.date) else None,
        str(data.get("status", "unverified")),
        tuple(data.get("sources", [])),
    )


def currency_of(country: str) -> str:
    """The country's current currency (CLDR), e.g. NP → NPR."""
    found = get_territory_currencies(country, start_date=dt.date.today())
    return found[0] if found else ""
