"""The fee checker's rules, per kind of corridor, and properties that must always hold."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrc_desktop.countries import model as m
from mrc_desktop.countries.explain import explain
from mrc_desktop.countries.fees import (
    CHECK,
    LAWFUL,
    NOT_LAWFUL,
    CostItem,
    FeeInput,
    check_fees,
)
from mrc_desktop.countries.rates import RateTable

RATES = RateTable(
    {
        "USD": Decimal(1),
        "NPR": Decimal(137),
        "MYR": Decimal("4.22"),
        "BDT": Decimal(122),
        "HKD": Decimal("7.85"),
        "PHP": Decimal("56.5"),
        "ETB": Decimal(135),
        "SAR": Decimal("3.75"),
    },
    dt.date(2025, 6, 30),
)
SOURCED = m.Sourced("verified", dt.date(2025, 1, 1), ("test source",))


def country(code: str, c181: str = "not_found") -> m.Country:
    rats = {i: m.Ratification(i, "not_found") for i in m.INSTRUMENTS}
    rats["C181"] = m.Ratification("C181", c181, 1999 if c181 == "ratified" else None)
    return m.Country(code, "both", dt.date(2026, 1, 1), {"en": code}, rats, SOURCED)


def corridor(origin: str, dest: str, kind: str, status: str = "verified", **policy) -> m.Corridor:  # type: ignore[no-untyped-def]
    sourced = m.Sourced(status, dt.date(2025, 1, 1), ("rule source",))
    return m.Corridor(
        origin,
        dest,
        dt.date(2026, 1, 1),
        ("private_agency",),
        ("src",),
        m.FeePolicy(sourced, kind, f"{kind} rule", **policy),
    )


def data(*corridors: m.Corridor, ethiopia_c181: bool = False) -> m.CountryData:
    result = m.CountryData()
    for code in ("NP", "MY", "BD", "PH", "HK", "SA"):
        result.countries[code] = country(code)
    result.countries["ET"] = country("ET", "ratified" if ethiopia_c181 else "not_found")
    for c in corridors:
        result.corridors[c.key] = c
    return result


NEPAL_MALAYSIA = corridor(
    "NP",
    "MY",
    "cap_amount",
    cap_amount=Decimal(10000),
    cap_currency="NPR",
    effective_from=dt.date(2015, 6, 9),
    worker_may_pay=("recruitment_fee", "service_charge", "medical"),
    employer_pays=("visa", "ticket"),
)


def item(kind: str, amount: str, currency: str = "NPR", **extra) -> CostItem:  # type: ignore[no-untyped-def]
    return CostItem(kind, Decimal(amount), currency, **extra)


def run(
    d: m.CountryData,
    origin: str,
    dest: str,
    items: list[CostItem],
    wage: str = "1700",
    wage_currency: str = "MYR",
):  # type: ignore[no-untyped-def]
    return check_fees(
        d,
        FeeInput(
            origin,
            dest,
            Decimal(wage),
            wage_currency,
            tuple(items),
            checked_on=dt.date(2026, 11, 23),
        ),
        RATES,
    )


def test_nepal_malaysia_the_issue_example() -> None:
    result = run(
        data(NEPAL_MALAYSIA),
        "NP",
        "MY",
        [
            item("recruitment_fee", "150000", paid_to="agency"),
            item("ticket", "45000"),
            item("visa", "20000"),
            item("medical", "5000"),
        ],
    )
    assert [v.verdict for v in result.items] == [NOT_LAWFUL, NOT_LAWFUL, NOT_LAWFUL, LAWFUL]
    assert result.items[0].reasons[0].code == "over_cap"
    assert result.items[0].reasons[0].param("excess") == "140000"
    assert any("NP-MY fee rule" in c for c in result.items[1].citations)
    assert result.total_worker == Decimal(220000)
    assert result.months_to_repay is not None and result.months_to_repay > 3
    assert {f.code for f in result.flags} >= {"high_debt", "flag_no_receipt", "flag_reclaim"}
    text = explain(result, "en")
    assert "over the legal maximum of 10,000 NPR by 140,000 NPR" in text


def test_within_the_cap_is_lawful() -> None:
    result = run(
        data(NEPAL_MALAYSIA),
        "NP",
        "MY",
        [item("recruitment_fee", "6000"), item("service_charge", "4000")],
    )
    assert [v.verdict for v in result.items] == [LAWFUL, LAWFUL]


def test_paid_before_the_rule_started_needs_checking() -> None:
    result = run(
        data(NEPAL_MALAYSIA), "NP", "MY", [item("visa", "20000", paid_on=dt.date(2014, 1, 1))]
    )
    assert result.items[0].verdict == CHECK
    assert "before_rule" in [r.code for r in result.items[0].reasons]


def test_zero_cost_corridor() -> None:
    d = data(corridor("PH", "HK", "zero_cost", worker_may_pay=("documents",)))
    result = run(
        d,
        "PH",
        "HK",
        [item("recruitment_fee", "10000", "PHP"), item("documents", "950", "PHP")],
        "5100",
        "HKD",
    )
    assert [v.verdict for v in result.items] == [NOT_LAWFUL, LAWFUL]


def test_cap_in_months_of_wages() -> None:
    d = data(corridor("PH", "SA", "cap_months", cap_months=Decimal(1)))
    within = run(d, "PH", "SA", [item("recruitment_fee", "1500", "SAR")], "1500", "SAR")
    over = run(d, "PH", "SA", [item("recruitment_fee", "1600", "SAR")], "1500", "SAR")
    assert within.items[0].verdict == LAWFUL and over.items[0].verdict == NOT_LAWFUL


def test_no_specific_rule_points_to_the_ilo_and_c181() -> None:
    none = corridor("ET", "SA", "none")
    without = run(data(none), "ET", "SA", [item("recruitment_fee", "5000", "ETB")], "1000", "SAR")
    assert without.items[0].verdict == CHECK
    with_c181 = run(
        data(none, ethiopia_c181=True),
        "ET",
        "SA",
        [item("recruitment_fee", "5000", "ETB")],
        "1000",
        "SAR",
    )
    # C181 Art. 7(2) allows exceptions: still no firm verdict without a corridor rule.
    assert with_c181.items[0].verdict == CHECK
    assert with_c181.items[0].reasons[0].code == "c181_ratified"
    assert "ILO C181, Article 7(1)" in with_c181.items[0].citations


def test_unverified_rule_never_gives_a_firm_verdict() -> None:
    d = data(
        corridor(
            "BD",
            "MY",
            "cap_amount",
            status="partly_verified",
            cap_amount=Decimal(78990),
            cap_currency="BDT",
        )
    )
    result = run(d, "BD", "MY", [item("recruitment_fee", "300000", "BDT")])
    assert result.items[0].verdict == CHECK
    assert "rule_not_verified" in [r.code for r in result.items[0].reasons]


def test_corridor_without_data_needs_checking_and_says_so() -> None:
    result = run(data(), "NP", "MY", [item("recruitment_fee", "1000")])
    assert result.items[0].verdict == CHECK
    assert "no_corridor_data" in [p.code for p in result.problems]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (CostItem("visa", Decimal(-5), "NPR"), "negative_amount"),
        (CostItem("visa", Decimal("1e12"), "NPR"), "absurd_amount"),
        (CostItem("visa", Decimal(5), "XXX"), "unknown_currency"),
        (CostItem("visa", Decimal(5), "NPR", paid_on=dt.date(2030, 1, 1)), "future_date"),
        (CostItem("bribe", Decimal(5), "NPR"), "unknown_kind"),
        (CostItem("visa", None, "NPR"), "missing_amount"),
    ],
)
def test_bad_input_is_named_and_never_gets_a_verdict(bad: CostItem, code: str) -> None:
    result = run(data(NEPAL_MALAYSIA), "NP", "MY", [bad, item("medical", "100")])
    assert code in [p.code for p in result.problems]
    assert result.items[0].verdict == CHECK
    assert result.items[1].verdict == LAWFUL


def test_missing_wage_is_a_field_problem() -> None:
    result = check_fees(
        data(NEPAL_MALAYSIA), FeeInput("NP", "MY", None, "MYR", (item("visa", "1"),)), RATES
    )
    assert "missing_wage" in [p.code for p in result.problems]
    assert result.months_to_repay is None


def test_deposits_and_loans_raise_debt_bondage_flags() -> None:
    result = run(
        data(NEPAL_MALAYSIA), "NP", "MY", [item("deposit", "5000"), item("loan_deduction", "2000")]
    )
    assert all(v.verdict == CHECK for v in result.items)
    assert {"flag_deposit", "flag_loan"} <= {f.code for f in result.flags}


def test_explanation_in_the_workers_language() -> None:
    result = run(data(NEPAL_MALAYSIA), "NP", "MY", [item("visa", "20000")])
    nepali = explain(result, "ne")
    assert nepali != explain(result, "en")
    assert "Visa" not in nepali


KINDS = st.sampled_from(m.COST_KINDS)
ITEMS = st.lists(
    st.builds(CostItem, KINDS, st.decimals(0, 500000, places=0), st.sampled_from(["NPR", "MYR"])),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(ITEMS)
def test_totals_equal_the_sum_of_converted_items(items: list[CostItem]) -> None:
    result = run(data(NEPAL_MALAYSIA), "NP", "MY", items)
    expected = sum((RATES.convert(i.amount, i.currency, "NPR") for i in items), Decimal(0))
    assert result.total_worker is not None
    assert abs(result.total_worker - expected) < Decimal("0.0001")


@settings(max_examples=150, deadline=None)
@given(ITEMS, st.randoms())
def test_verdicts_do_not_depend_on_item_order(items: list[CostItem], rnd) -> None:  # type: ignore[no-untyped-def]
    first = run(data(NEPAL_MALAYSIA), "NP", "MY", items)
    shuffled_order = list(range(len(items)))
    rnd.shuffle(shuffled_order)
    second = run(data(NEPAL_MALAYSIA), "NP", "MY", [items[i] for i in shuffled_order])
    for new_position, old_position in enumerate(shuffled_order):
        assert second.items[new_position].verdict == first.items[old_position].verdict


@settings(max_examples=150, deadline=None)
@given(ITEMS, st.sampled_from(["medical", "training"]), st.decimals(0, 10000, places=0))
def test_adding_a_lawful_item_changes_no_other_verdict(
    items: list[CostItem], kind: str, amount: Decimal
) -> None:
    d = data(
        corridor(
            "NP",
            "MY",
            "cap_amount",
            cap_amount=Decimal(10000),
            cap_currency="NPR",
            worker_may_pay=("medical", "training"),
        )
    )
    before = run(d, "NP", "MY", items)
    after = run(d, "NP", "MY", [*items, CostItem(kind, amount, "NPR")])
    assert after.items[-1].verdict == LAWFUL
    assert [v.verdict for v in after.items[:-1]] == [v.verdict for v in before.items]


def test_domestic_workers_pay_nothing_on_some_corridors() -> None:
    d = data(
        corridor("PH", "HK", "cap_months", cap_months=Decimal(1), domestic_workers_pay_nothing=True)
    )
    fee = [item("recruitment_fee", "4000", "HKD")]
    other = check_fees(d, FeeInput("PH", "HK", Decimal(5100), "HKD", tuple(fee)), RATES)
    domestic = check_fees(
        d, FeeInput("PH", "HK", Decimal(5100), "HKD", tuple(fee), domestic_work=True), RATES
    )
    assert other.items[0].verdict == LAWFUL
    assert "unless_domestic" in [r.code for r in other.items[0].reasons]
    assert domestic.items[0].verdict == NOT_LAWFUL


def test_a_cap_on_all_costs_counts_every_cost() -> None:
    d = data(
        corridor(
            "BD",
            "MY",
            "cap_amount",
            cap_amount=Decimal(78990),
            cap_currency="BDT",
            cap_covers="all_costs",
        )
    )
    within = run(
        d, "BD", "MY", [item("recruitment_fee", "50000", "BDT"), item("medical", "20000", "BDT")]
    )
    over = run(
        d, "BD", "MY", [item("recruitment_fee", "50000", "BDT"), item("medical", "40000", "BDT")]
    )
    assert [v.verdict for v in within.items] == [LAWFUL, LAWFUL]
    assert [v.verdict for v in over.items] == [NOT_LAWFUL, NOT_LAWFUL]
