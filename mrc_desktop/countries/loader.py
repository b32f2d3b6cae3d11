"""Load and validate ``content/countries/*.toml`` and ``content/corridors/*.toml``.

Every problem is reported as ``file:line: message`` (the line of the key or table at
fault); a broken file is skipped and the rest still load.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from babel.numbers import list_currencies

from mrc_desktop.countries import model as m
from mrc_desktop.i18n import LANGUAGES, country_names
from mrc_desktop.problems import ContentError, ContentProblem

PHONE = re.compile(r"^[0-9 +\-]*$")
TOML_LINE = re.compile(r"\(at line (\d+), column \d+\)")


class _Checker:
    """Reads typed values from a parsed TOML table, recording problems with line numbers."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.problems: list[ContentProblem] = []
        self.currencies = list_currencies()
        self.countries = country_names("en")

    # -- where --------------------------------------------------------------------
    def line_of(self, table: str, key: str | None = None, index: int = 0) -> int:
        """Line of ``key`` inside the ``index``-th ``[table]``/``[[table]]`` ('' = top level)."""
        start = 0
        if table:
            header = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$")
            seen = -1
            for number, line in enumerate(self.lines):
                if header.match(line):
                    seen += 1
                    if seen == index:
                        start = number
                        break
            else:
                return 1
        if key is None:
            return start + 1
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(start + (1 if table else 0), len(self.lines)):
            line = self.lines[number]
            if table and re.match(r"^\s*\[", line):
                break
            if not table and re.match(r"^\s*\[", line):
                break
            if pattern.match(line):
                return number + 1
        return start + 1

    def problem(self, line: int, message: str) -> None:
        self.problems.append(ContentProblem(self.path, line, message))

    # -- typed reads ----------------------------------------------------------------
    def get(
        self,
        data: dict[str, Any],
        key: str,
        kind: type | tuple[type, ...],
        where: str,
        required: bool = True,
        index: int = 0,
    ) -> Any:
        if key not in data:
            if required:
                self.problem(
                    self.line_of(where, None, index),
                    f"missing '{key}'" + (f" in [{where}]" if where else ""),
                )
            return None
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            self.problem(self.line_of(where, key, index), f"'{key}' must be {names}")
            return None
        return value

    def choice(
        self,
        data: dict[str, Any],
        key: str,
        allowed: tuple[str, ...],
        where: str,
        index: int = 0,
        required: bool = True,
    ) -> str:
        value = self.get(data, key, str, where, required, index)
        if value is not None and value not in allowed:
            self.problem(
                self.line_of(where, key, index),
                f"'{key}' must be one of {', '.join(allowed)}, not '{value}'",
            )
            return ""
        return value or ""

    def date(
        self, data: dict[str, Any], key: str, where: str, index: int = 0, required: bool = True
    ) -> dt.date | None:
        value = self.get(data, key, dt.date, where, required, index)
        if isinstance(value, dt.datetime):
            value = value.date()
        if value is not None and value > dt.date.today():
            self.problem(self.line_of(where, key, index), f"'{key}' {value} is in the future")
        return value

    def decimal(
        self, data: dict[str, Any], key: str, where: str, index: int = 0, required: bool = True
    ) -> Decimal | None:
        raw = self.get(data, key, (str, int), where, required, index)
        if raw is None or raw == "":
            return None
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            self.problem(self.line_of(where, key, index), f"'{key}' is not a number: '{raw}'")
            return None
        if not value.is_finite() or value < 0:
            self.problem(self.line_of(where, key, index), f"'{key}' must be zero or more")
            return None
        return value

    def currency(
        self, data: dict[str, Any], key: str, where: str, index: int = 0, required: bool = True
    ) -> str:
        value = self.get(data, key, str, where, required, index) or ""
        if value and value not in self.currencies:
            self.problem(
                self.line_of(where, key, index), f"'{value}' is not an ISO 4217 currency code"
            )
            return ""
        return value

    def country(self, data: dict[str, Any], key: str, where: str = "") -> str:
        value = self.get(data, key, str, where) or ""
        if value and value not in self.countries:
            self.problem(self.line_of(where, key), f"'{value}' is not an ISO 3166 country code")
            return ""
        return value

    def strings(
        self,
        data: dict[str, Any],
        key: str,
        where: str,
        index: int = 0,
        required: bool = False,
        allowed: tuple[str, ...] = (),
    ) -> tuple[str, ...]:
        value = self.get(data, key, list, where, required, index)
        if value is None:
            return ()
        if not all(isinstance(item, str) for item in value):
            self.problem(self.line_of(where, key, index), f"'{key}' must be a list of strings")
            return ()
        for item in value:
            if allowed and item not in allowed:
                self.problem(
                    self.line_of(where, key, index),
                    f"'{item}' in '{key}' is not one of {', '.join(allowed)}",
                )
        return tuple(value)

    def sourced(self, data: dict[str, Any], where: str, index: int = 0) -> m.Sourced:
        status = self.choice(data, "status", m.FACT_STATUSES, where, index) or "unverified"
        as_of = self.date(data, "as_of", where, index) or dt.date.min
        sources = self.strings(data, "sources", where, index, required=True)
        if not sources or not all(s.strip() for s in sources):
            self.problem(
                self.line_of(where, "sources", index), f"[{where}] needs at least one source"
            )
        return m.Sourced(status, as_of, sources)

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problem(self.line_of("", key), f"'{key}' must be a table [{key}]")
            return None
        return value

    def tables(self, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem(self.line_of(key), f"'{key}' must be written as [[{key}]] tables")
            return []
        return value


def _parse(path: Path) -> tuple[dict[str, Any], _Checker]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentError([ContentProblem(path, line, "not valid UTF-8 text")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = TOML_LINE.search(str(exc))
        line = int(found.group(1)) if found else 1
        message = TOML_LINE.sub("", str(exc)).strip()
        raise ContentError([ContentProblem(path, line, f"not valid TOML: {message}")]) from exc
    return data, _Checker(path, text)


def parse_country(path: Path) -> m.Country:
    data, c = _parse(path)
    code = c.country(data, "code")
    if code and code != path.stem.upper():
        c.problem(c.line_of("", "code"), f"code '{code}' does not match the file name")
    role = c.choice(data, "role", m.ROLES, "")
    reviewed = c.date(data, "reviewed", "") or dt.date.min
    names_table = c.table(data, "names") or {}
    names = {k: v for k, v in names_table.items() if isinstance(v, str) and v.strip()}
    for lang in LANGUAGES:
        if lang not in names:
            c.problem(c.line_of("names"), f"[names] has no name in '{lang}'")
    ratifications: dict[str, m.Ratification] = {}
    rat_table = c.table(data, "ratifications")
    rat_sourced = m.Sourced("unverified", dt.date.min, ())
    if rat_table is None:
        c.problem(1, "missing [ratifications]")
    else:
        rat_sourced = c.sourced(rat_table, "ratifications")
        for instrument in m.INSTRUMENTS:
            entry = rat_table.get(instrument)
            line = c.line_of("ratifications", instrument)
            if not isinstance(entry, dict):
                c.problem(
                    line if instrument in rat_table else c.line_of("ratifications"),
                    f"[ratifications] needs {instrument} = {{ status = ... }}",
                )
                continue
            status = entry.get("status")
            if status not in m.RATIFICATION_STATUSES:
                c.problem(
                    line,
                    f"{instrument}: status must be one of {', '.join(m.RATIFICATION_STATUSES)}",
                )
                continue
            year = entry.get("year")
            if status == "ratified" and not (isinstance(year, int) and 1919 <= year <= 2100):
                c.problem(line, f"{instrument}: a ratification needs its year")
            ratifications[instrument] = m.Ratification(
                instrument,
                status,
                year if isinstance(year, int) else None,
                str(entry.get("note", "")),
            )
    wage = None
    wage_table = c.table(data, "minimum_wage")
    if wage_table is not None:
        wage = m.MinimumWage(
            c.sourced(wage_table, "minimum_wage"),
            c.decimal(wage_table, "amount", "minimum_wage", required=False),
            c.currency(wage_table, "currency", "minimum_wage", required=False),
            c.choice(wage_table, "period", m.PERIODS, "minimum_wage", required=False),
            c.choice(wage_table, "covers_migrants", m.COVERAGE, "minimum_wage"),
            c.get(wage_table, "who", str, "minimum_wage") or "",
        )
        if wage.amount is not None and not (wage.currency and wage.period):
            c.problem(c.line_of("minimum_wage"), "a minimum wage amount needs currency and period")
    facts: dict[str, m.TextFact | None] = {}
    for key in ("weekly_rest", "documents"):
        table = c.table(data, key)
        facts[key] = (
            None
            if table is None
            else m.TextFact(c.sourced(table, key), c.get(table, "text", str, key) or "")
        )
    channels = []
    for index, entry in enumerate(c.tables(data, "complaint_channels")):
        phone = c.get(entry, "phone", str, "complaint_channels", False, index) or ""
        if not PHONE.match(phone):
            c.problem(
                c.line_of("complaint_channels", "phone", index),
                f"phone '{phone}' may hold only digits, spaces, + and -",
            )
        channels.append(
            m.Channel(
                c.sourced(entry, "complaint_channels", index),
                c.get(entry, "name", str, "complaint_channels", True, index) or "",
                phone,
                c.get(entry, "web", str, "complaint_channels", False, index) or "",
                c.strings(entry, "languages", "complaint_channels", index),
                c.get(entry, "hours", str, "complaint_channels", False, index) or "",
                c.get(entry, "note", str, "complaint_channels", False, index) or "",
            )
        )
    organizations = []
    for index, entry in enumerate(c.tables(data, "referral_organizations")):
        organizations.append(
            m.Organization(
                c.sourced(entry, "referral_organizations", index),
                c.get(entry, "name", str, "referral_organizations", True, index) or "",
                c.choice(entry, "kind", m.ORG_KINDS, "referral_organizations", index),
                c.get(entry, "contact", str, "referral_organizations", False, index) or "",
                c.strings(entry, "languages", "referral_organizations", index),
            )
        )
    if c.problems:
        raise ContentError(c.problems)
    return m.Country(
        code,
        role,
        reviewed,
        names,
        ratifications,
        rat_sourced,
        wage,
        facts["weekly_rest"],
        facts["documents"],
        tuple(channels),
        tuple(organizations),
    )


def parse_corridor(path: Path) -> m.Corridor:
    data, c = _parse(path)
    origin = c.country(data, "origin")
    destination = c.country(data, "destination")
    if origin and destination and f"{origin}-{destination}" != path.stem.upper():
        c.problem(1, f"file name should be {origin}-{destination}.toml")
    reviewed = c.date(data, "reviewed", "") or dt.date.min
    channels = c.strings(data, "channels", "", required=True, allowed=m.CHANNELS)
    sources = c.strings(data, "sources", "", required=True)
    if not sources:
        c.problem(c.line_of("", "sources"), "the corridor needs at least one source")
    table = c.table(data, "fee_policy")
    if table is None:
        c.problem(1, "missing [fee_policy]")
        raise ContentError(c.problems)
    kind = c.choice(table, "kind", m.FEE_POLICY_KINDS, "fee_policy")
    cap_amount = c.decimal(table, "cap_amount", "fee_policy", required=kind == "cap_amount")
    cap_currency = c.currency(table, "cap_currency", "fee_policy", required=kind == "cap_amount")
    cap_months = c.decimal(table, "cap_months", "fee_policy", required=kind == "cap_months")
    policy = m.FeePolicy(
        c.sourced(table, "fee_policy"),
        kind,
        c.get(table, "summary", str, "fee_policy") or "",
        c.get(table, "applies_to", str, "fee_policy", False) or "",
        cap_amount,
        cap_currency,
        cap_months,
        c.date(table, "effective_from", "fee_policy", required=False),
        c.strings(table, "worker_may_pay", "fee_policy", allowed=m.COST_KINDS),
        c.strings(table, "employer_pays", "fee_policy", allowed=m.COST_KINDS),
        c.choice(table, "cap_covers", m.CAP_COVERS, "fee_policy", required=False) or "agency_fees",
        bool(c.get(table, "domestic_workers_pay_nothing", bool, "fee_policy", required=False)),
    )
    costs = []
    for index, entry in enumerate(c.tables(data, "typical_costs")):
        costs.append(
            m.TypicalCost(
                c.sourced(entry, "typical_costs", index),
                c.get(entry, "what", str, "typical_costs", True, index) or "",
                c.decimal(entry, "amount", "typical_costs", index, required=False),
                c.currency(entry, "currency", "typical_costs", index, required=False),
            )
        )
    documents = c.strings(data, "documents_needed", "")
    pre_departure = c.get(data, "pre_departure", str, "", required=False) or ""
    if c.problems:
        raise ContentError(c.problems)
    return m.Corridor(
        origin,
        destination,
        reviewed,
        channels,
        sources,
        policy,
        documents,
        pre_departure,
        tuple(costs),
    )


def load_country_data(content_root: Path) -> tuple[m.CountryData, list[ContentProblem]]:
    data = m.CountryData()
    problems: list[ContentProblem] = []

    def each(folder: str, parse: Callable[[Path], Any], store: Callable[[Any], None]) -> None:
        for path in sorted((content_root / folder).glob("*.toml")):
            try:
                store(parse(path))
            except ContentError as err:
                problems.extend(err.problems)
            except OSError as exc:
                problems.append(ContentProblem(path, 1, f"cannot read: {exc.strerror}"))

    each("countries", parse_country, lambda c: data.countries.__setitem__(c.code, c))
    each("corridors", parse_corridor, lambda c: data.corridors.__setitem__(c.key, c))
    for corridor in list(data.corridors.values()):
        for code in (corridor.origin, corridor.destination):
            if code not in data.countries:
                problems.append(
                    ContentProblem(
                        content_root / "corridors" / f"{corridor.key}.toml",
                        1,
                        f"no country profile for '{code}' (content/countries/{code}.toml)",
                    )
                )
    return data, problems
