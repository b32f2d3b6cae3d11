"""The Countries and Fee checker screens as a counsellor uses them."""

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLineEdit
from pytestqt.qtbot import QtBot

from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.countries_screen import CountriesScreen
from mrc_desktop.ui.fee_checker_screen import FeeCheckerScreen


def open_screen(qtbot: QtBot, ctx: AppContext, screen_class):  # type: ignore[no-untyped-def]
    screen = screen_class(ctx)
    screen.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    qtbot.addWidget(screen)
    return screen


def test_corridor_side_by_side_and_copy_a_hotline(
    qtbot: QtBot, ctx: AppContext, qapp: QApplication
) -> None:
    screen = open_screen(qtbot, ctx, CountriesScreen)
    screen.select("NP", "MY")
    text = screen.view.toPlainText()
    assert "Nepal" in text and "Malaysia" in text
    assert "Fees capped at 10000 NPR" in text
    assert "P029" in text and "Ratified 2022" in text
    assert "1700 MYR per month" in text
    assert "As of" in text
    screen.select("NP", "HK")
    html = screen.view.toHtml()
    assert "copy:2157" in html
    screen._link(QUrl("copy:2157%209537"))
    assert qapp.clipboard().text() == "2157 9537"
    assert "Copied 2157 9537" in screen.status.text()


def test_unknown_corridor_says_which_rules_apply(qtbot: QtBot, ctx: AppContext) -> None:
    screen = open_screen(qtbot, ctx, CountriesScreen)
    screen.select("ET", "JO")
    assert "No data for this corridor yet" in screen.view.toPlainText()


def test_related_articles_open_in_the_library(qtbot: QtBot, ctx: AppContext) -> None:
    screen = open_screen(qtbot, ctx, CountriesScreen)
    screen.select("PH", "HK")
    qtbot.waitUntil(lambda: "mrc:article/" in screen.view.toHtml(), timeout=30_000)
    with qtbot.waitSignal(ctx.events.open_article) as signal:
        screen._link(QUrl("mrc:article/keep-your-passport"))
    assert signal.args == ["keep-your-passport"]


def fill_row(
    screen: FeeCheckerScreen, row: int, kind: str, amount: str, receipt: bool = False
) -> None:
    kinds = screen.table.cellWidget(row, 0)
    assert isinstance(kinds, QComboBox)
    kinds.setCurrentIndex(kinds.findData(kind))
    amount_edit = screen.table.cellWidget(row, 1)
    assert isinstance(amount_edit, QLineEdit)
    amount_edit.setText(amount)
    box = screen.table.cellWidget(row, 5)
    assert isinstance(box, QCheckBox)
    box.setChecked(receipt)


def test_fill_the_form_and_read_the_verdict(qtbot: QtBot, ctx: AppContext) -> None:
    screen = open_screen(qtbot, ctx, FeeCheckerScreen)
    screen.origin.setCurrentIndex(screen.origin.findData("NP"))
    screen.destination.setCurrentIndex(screen.destination.findData("MY"))
    assert screen.wage_currency.currentData() == "MYR"
    qtbot.keyClicks(screen.wage, "1700")
    fill_row(screen, 0, "recruitment_fee", "150,000")
    screen.add_item(kind="ticket", amount="45000", currency="NPR")
    screen.add_item(kind="visa", amount="20000", currency="NPR")
    qtbot.mouseClick(screen.check_button, Qt.MouseButton.LeftButton)
    result = screen.result
    assert result is not None
    assert [v.verdict for v in result.items] == ["not_lawful"] * 3
    text = screen.verdict.toPlainText()
    assert "over the legal maximum of 10,000 NPR" in text
    assert "Months of wages needed to repay" in text
    screen.explain_lang.setCurrentIndex(screen.explain_lang.findData("ne"))
    assert "over the legal maximum" not in screen.verdict.toPlainText()


def test_bad_input_is_shown_at_the_field(qtbot: QtBot, ctx: AppContext) -> None:
    screen = open_screen(qtbot, ctx, FeeCheckerScreen)
    screen.origin.setCurrentIndex(screen.origin.findData("NP"))
    screen.destination.setCurrentIndex(screen.destination.findData("MY"))
    fill_row(screen, 0, "visa", "-5")
    date_edit = screen.table.cellWidget(0, 3)
    assert isinstance(date_edit, QLineEdit)
    date_edit.setText("soon")
    screen.run_check()
    problems = screen.problems_label.text()
    assert "Enter the monthly wage" in problems
    assert "Cost 1: The amount cannot be negative." in problems
    assert "Cost 1: the date must be written YYYY-MM-DD." in problems
    assert "background-color" in date_edit.styleSheet()
    assert screen.result is not None and screen.result.items[0].verdict == "needs_checking"


def test_entered_exchange_rates_win(qtbot: QtBot, ctx: AppContext) -> None:
    screen = open_screen(qtbot, ctx, FeeCheckerScreen)
    screen.origin.setCurrentIndex(screen.origin.findData("NP"))
    screen.destination.setCurrentIndex(screen.destination.findData("MY"))
    screen.wage.setText("1700")
    fill_row(screen, 0, "medical", "13700")
    first = screen.run_check()
    rows = {screen.rates_table.item(r, 0).text(): r for r in range(screen.rates_table.rowCount())}
    assert {"NPR", "MYR"} <= set(rows)
    screen.rates_table.item(rows["NPR"], 1).setText("100")
    screen.rates_table.item(rows["MYR"], 1).setText("4")
    second = screen.run_check()
    assert second.total_destination == 548  # 13,700 NPR at 100 per USD = 137 USD = 548 MYR
    assert first.total_destination != second.total_destination


def test_related_articles_put_country_specific_ones_first() -> None:
    from mrc_desktop.countries.related import related_slugs

    articles = [
        ("fees", (), "recruitment"),
        ("hk-helpers", ("HK",), "sectors"),
        ("complain", (), "unions"),
        ("health", (), "social-protection"),
    ]
    assert related_slugs(articles, ["PH", "HK"]) == ["hk-helpers", "fees", "complain"]
    assert related_slugs(articles, []) == []
