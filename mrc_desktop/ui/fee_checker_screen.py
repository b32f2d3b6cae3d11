"""Fee checker: the costs a worker paid, item by item, against the corridor's rules."""

from __future__ import annotations

import datetime as dt
import html
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop import i18n
from mrc_desktop.countries.explain import FIELD_PROBLEMS, KINDS, VERDICTS, money, reason_text
from mrc_desktop.countries.fee_json import result_to_dict
from mrc_desktop.countries.fees import (
    CHECK,
    LAWFUL,
    NOT_LAWFUL,
    CostItem,
    FeeInput,
    FeeResult,
    check_fees,
)
from mrc_desktop.countries.loader import load_country_data
from mrc_desktop.countries.model import COST_KINDS
from mrc_desktop.countries.rates import currency_of, load_rates
from mrc_desktop.i18n import N_, _
from mrc_desktop.reports.handout import Handout, save_pdf
from mrc_desktop.storage.paths import content_dir, locales_dir
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.countries_screen import fill_country_combo
from mrc_desktop.ui.locale_format import show_date
from mrc_desktop.ui.translatable import Translatable

COLOURS = {LAWFUL: "#1b5e20", NOT_LAWFUL: "#b00020", CHECK: "#8d6e00"}
COLUMNS = ("kind", "amount", "currency", "date", "paid_to", "receipt")
ERROR_STYLE = "background-color: #ffe0e0;"


class FeeCheckerScreen(Translatable, QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("fee_checker_screen")
        self.data, _problems = load_country_data(content_dir())
        self.rates = load_rates(content_dir() / "exchange-rates.toml")
        self.result: FeeResult | None = None
        self.heading = QLabel()
        self.heading.setObjectName("screen_heading")
        self.origin, self.destination = QComboBox(), QComboBox()
        self.origin.setObjectName("fee_origin")
        self.destination.setObjectName("fee_destination")
        self.wage = QLineEdit()
        self.wage.setObjectName("fee_wage")
        self.wage_currency = QComboBox()
        self.domestic = QCheckBox()
        self.explain_lang = QComboBox()
        self.explain_lang.setObjectName("fee_explain_lang")
        self.labels = {k: QLabel() for k in ("origin", "destination", "wage", "lang")}
        wage_row = QHBoxLayout()
        wage_row.addWidget(self.wage, 2)
        wage_row.addWidget(self.wage_currency, 1)
        form = QFormLayout()
        form.addRow(self.labels["origin"], self.origin)
        form.addRow(self.labels["destination"], self.destination)
        form.addRow(self.labels["wage"], wage_row)
        form.addRow("", self.domestic)
        form.addRow(self.labels["lang"], self.explain_lang)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("fee_items")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.add_button, self.remove_button = QPushButton(), QPushButton()
        self.check_button = QPushButton()
        self.check_button.setObjectName("fee_check")
        self.check_button.setDefault(True)
        self.save_button, self.pdf_button = QPushButton(), QPushButton()
        self.case_button = QPushButton()
        self.case_button.setObjectName("fee_to_case")
        self.case_message = QLabel()
        self.case_message.setObjectName("fee_case_message")
        self.case_message.setWordWrap(True)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.check_button, self.save_button, self.pdf_button, self.case_button):
            buttons.addWidget(button)
        self.problems_label = QLabel()
        self.problems_label.setObjectName("fee_problems")
        self.problems_label.setWordWrap(True)
        self.rates_note = QLabel()
        self.rates_note.setWordWrap(True)
        self.rates_label = QLabel()
        self.rates_table = QTableWidget(0, 2)
        self.rates_table.setObjectName("fee_rates")
        self.rates_table.setMaximumHeight(130)
        self.rates_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.rates_table.verticalHeader().hide()
        self.verdict = QTextBrowser()
        self.verdict.setObjectName("fee_verdict")
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(form)
        left_layout.addWidget(self.table, 1)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.case_message)
        left_layout.addWidget(self.problems_label)
        left_layout.addWidget(self.rates_note)
        left_layout.addWidget(self.rates_label)
        left_layout.addWidget(self.rates_table)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.verdict)
        splitter.setSizes([620, 520])
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(splitter, 1)
        self.add_button.clicked.connect(lambda: self.add_item())
        self.remove_button.clicked.connect(self.remove_item)
        self.check_button.clicked.connect(self.run_check)
        self.save_button.clicked.connect(self.save_result)
        self.pdf_button.clicked.connect(self.save_pdf)
        self.case_button.clicked.connect(self.add_to_case)
        self.destination.currentIndexChanged.connect(self._destination_changed)
        self.origin.currentIndexChanged.connect(self._origin_changed)
        self.explain_lang.currentIndexChanged.connect(lambda _i: self.show_result())
        self.retranslate()
        self.add_item()

    # -- text -------------------------------------------------------------------
    def retranslate(self) -> None:
        lang = i18n.current_language()
        self.heading.setText(_("Recruitment fee checker"))
        self.labels["origin"].setText(_("Country of origin:"))
        self.labels["destination"].setText(_("Country of destination:"))
        self.labels["wage"].setText(_("Monthly wage in the contract:"))
        self.labels["lang"].setText(_("Explain in:"))
        self.domestic.setText(_("The worker is a domestic worker"))
        fill_country_combo(self.origin, self.data, ("origin",), lang, _("Choose…"))
        fill_country_combo(self.destination, self.data, ("destination",), lang, _("Choose…"))
        self._fill_currencies(self.wage_currency)
        selected = self.explain_lang.currentData()
        self.explain_lang.blockSignals(True)
        self.explain_lang.clear()
        for code in i18n.LANGUAGES:
            self.explain_lang.addItem(i18n.language_autonym(code), code)
        self.explain_lang.setCurrentIndex(max(self.explain_lang.findData(selected or lang), 0))
        self.explain_lang.blockSignals(False)
        self.table.setHorizontalHeaderLabels(
            [
                _("Cost"),
                _("Amount"),
                _("Currency"),
                _("Date paid (YYYY-MM-DD)"),
                _("Paid to"),
                _("Receipt"),
            ]
        )
        for row in range(self.table.rowCount()):
            self._fill_kinds(self._combo(row, 0))
        self.add_button.setText(_("&Add a cost"))
        self.remove_button.setText(_("Remove cost"))
        self.check_button.setText(_("&Check fees"))
        self.save_button.setText(_("Save result…"))
        self.pdf_button.setText(_("Save as PDF…"))
        self.case_button.setText(_("Add to the open case"))
        self.case_button.setToolTip(
            _(
                "Attach this check to the case open in the Cases screen "
                "(the case log must be unlocked)"
            )
        )
        as_of = show_date(self.rates.as_of, "medium") if self.rates.as_of else "—"
        self.rates_label.setText(_("Exchange rates (units of each currency for 1 US dollar):"))
        self.rates_table.setHorizontalHeaderLabels([_("Currency"), _("Rate")])
        self.rates_note.setText(
            _(
                "Currencies are converted with approximate reference rates as of {date}; "
                "the result shows this date."
            ).format(date=as_of)
        )
        self.show_result()

    def _fill_currencies(self, combo: QComboBox) -> None:
        selected = combo.currentData()
        combo.clear()
        for code in sorted(self.rates.per_usd):
            combo.addItem(code, code)
        combo.setCurrentIndex(max(combo.findData(selected or "USD"), 0))

    def _fill_kinds(self, combo: QComboBox) -> None:
        selected = combo.currentData()
        combo.clear()
        for kind in COST_KINDS:
            combo.addItem(_(KINDS[kind]), kind)
        combo.setCurrentIndex(max(combo.findData(selected or "recruitment_fee"), 0))

    def _origin_changed(self, _index: int) -> None:
        """Costs not filled in yet default to the currency of the country of origin."""
        code = self.origin.currentData()
        if not code:
            return
        currency = currency_of(code)
        for row in range(self.table.rowCount()):
            if not self._edit(row, 1).text().strip():
                combo = self._combo(row, 2)
                combo.setCurrentIndex(max(combo.findData(currency), 0))

    def _destination_changed(self, _index: int) -> None:
        code = self.destination.currentData()
        if code:
            currency = currency_of(code)
            self.wage_currency.setCurrentIndex(max(self.wage_currency.findData(currency), 0))

    # -- items ------------------------------------------------------------------
    def add_item(
        self,
        kind: str = "recruitment_fee",
        amount: str = "",
        currency: str = "",
        date: str = "",
        paid_to: str = "",
        receipt: bool = False,
    ) -> int:
        row = self.table.rowCount()
        self.table.insertRow(row)
        kinds = QComboBox()
        self._fill_kinds(kinds)
        kinds.setCurrentIndex(max(kinds.findData(kind), 0))
        currencies = QComboBox()
        self._fill_currencies(currencies)
        origin = self.origin.currentData()
        default = currency or (currency_of(origin) if origin else "USD")
        currencies.setCurrentIndex(max(currencies.findData(default), 0))
        box = QCheckBox()
        box.setChecked(receipt)
        widgets = (kinds, QLineEdit(amount), currencies, QLineEdit(date), QLineEdit(paid_to), box)
        for column, widget in enumerate(widgets):
            self.table.setCellWidget(row, column, widget)
        return row

    def remove_item(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            row = self.table.rowCount() - 1
        if row >= 0:
            self.table.removeRow(row)

    def _combo(self, row: int, column: int) -> QComboBox:
        widget = self.table.cellWidget(row, column)
        assert isinstance(widget, QComboBox)
        return widget

    def _edit(self, row: int, column: int) -> QLineEdit:
        widget = self.table.cellWidget(row, column)
        assert isinstance(widget, QLineEdit)
        return widget

    # -- checking ---------------------------------------------------------------
    def fee_input(self) -> tuple[FeeInput, list[str]]:
        """The form as a FeeInput, plus problems the form itself can see (bad numbers, dates)."""
        problems: list[str] = []
        wage = _number(self.wage.text())
        self.wage.setStyleSheet("" if wage is not None or not self.wage.text() else ERROR_STYLE)
        if self.wage.text().strip() and wage is None:
            problems.append(
                _("Monthly wage: {message}").format(message=_("write a number, for example 1700"))
            )
        items = []
        for row in range(self.table.rowCount()):
            amount_edit, date_edit = self._edit(row, 1), self._edit(row, 3)
            amount = _number(amount_edit.text())
            amount_edit.setStyleSheet("" if amount is not None else ERROR_STYLE)
            paid_on = None
            if date_edit.text().strip():
                try:
                    paid_on = dt.date.fromisoformat(date_edit.text().strip())
                    date_edit.setStyleSheet("")
                except ValueError:
                    date_edit.setStyleSheet(ERROR_STYLE)
                    problems.append(
                        _("Cost {row}: the date must be written YYYY-MM-DD.").format(row=row + 1)
                    )
            receipt = self.table.cellWidget(row, 5)
            items.append(
                CostItem(
                    self._combo(row, 0).currentData(),
                    amount,
                    self._combo(row, 2).currentData(),
                    paid_on,
                    self._edit(row, 4).text().strip(),
                    isinstance(receipt, QCheckBox) and receipt.isChecked(),
                )
            )
        self.sync_rates([i.currency for i in items] + [self.wage_currency.currentData() or ""])
        fee_input = FeeInput(
            self.origin.currentData() or "",
            self.destination.currentData() or "",
            wage,
            self.wage_currency.currentData() or "",
            tuple(items),
            rates=self.entered_rates(),
            domestic_work=self.domestic.isChecked(),
        )
        return fee_input, problems

    def sync_rates(self, currencies: list[str]) -> None:
        """One editable row per currency in use, pre-filled from the reference table."""
        shown = {
            item.text()
            for r in range(self.rates_table.rowCount())
            if (item := self.rates_table.item(r, 0)) is not None
        }
        for code in sorted({c for c in currencies if c and c != "USD"} - shown):
            row = self.rates_table.rowCount()
            self.rates_table.insertRow(row)
            name = QTableWidgetItem(code)
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.rates_table.setItem(row, 0, name)
            rate = self.rates.per_usd.get(code)
            self.rates_table.setItem(row, 1, QTableWidgetItem(str(rate) if rate else ""))

    def entered_rates(self) -> dict[str, Decimal]:
        """Rates the counsellor changed from the reference table (these win)."""
        entered: dict[str, Decimal] = {}
        for row in range(self.rates_table.rowCount()):
            code_item, rate_item = self.rates_table.item(row, 0), self.rates_table.item(row, 1)
            if code_item is None or rate_item is None:
                continue
            value = _number(rate_item.text())
            if value and value > 0 and value != self.rates.per_usd.get(code_item.text()):
                entered[code_item.text()] = value
        return entered

    def run_check(self) -> FeeResult:
        fee_input, form_problems = self.fee_input()
        self.result = check_fees(self.data, fee_input, self.rates)
        messages = list(form_problems)
        for problem in self.result.problems:
            where = _field_label(problem.field)
            messages.append(f"{where}: {_(FIELD_PROBLEMS[problem.code])}")
        self.problems_label.setText("\n".join(messages))
        self.show_result()
        return self.result

    def show_result(self) -> None:
        if self.result is None:
            hint = _("Enter the costs, then press Check fees.")
            self.verdict.setHtml(f"<p>{html.escape(hint)}</p>")
            return
        self.verdict.setHtml(result_html(self.result, self.explain_lang.currentData() or "en"))

    # -- saving -----------------------------------------------------------------
    def save_result(self) -> None:
        result = self.result or self.run_check()
        path, _chosen = QFileDialog.getSaveFileName(
            self, _("Save fee check"), str(Path.home() / "fee-check.json"), "JSON (*.json)"
        )
        if path:
            Path(path).write_text(
                json.dumps(result_to_dict(result), ensure_ascii=False, indent=2), "utf-8"
            )

    def add_to_case(self) -> None:
        result = self.result or self.run_check()
        request: dict[str, object] = {"result": result_to_dict(result)}
        self.ctx.events.attach_fee_check.emit(request)
        reference = request.get("added_to")
        self.case_message.setText(
            _("Added to case {reference}.").format(reference=reference)
            if reference
            else _("Open a case in the Cases screen first (log in if the case log is locked).")
        )

    def save_pdf(self) -> None:
        result = self.result or self.run_check()
        lang = self.explain_lang.currentData() or "en"
        path, _chosen = QFileDialog.getSaveFileName(
            self, _("Save handout as PDF"), str(Path.home() / "fee-check.pdf"), "PDF (*.pdf)"
        )
        if path:
            tr = i18n.translation_for(lang, locales_dir()).gettext
            title = tr(N_("Recruitment fee check"))
            printed = show_date(dt.date.today(), "long", lang)
            centre = self.ctx.settings.get("centre_name")
            masthead = tr(N_("{centre} · printed on {date}")).format(centre=centre, date=printed)
            page = f"<h1>{html.escape(title)}</h1>{result_html(result, lang)}"
            save_pdf(Handout(title, page, lang, centre, printed, masthead), Path(path))


def _number(text: str) -> Decimal | None:
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _field_label(field: str) -> str:
    if field.startswith("items["):
        number = int(field.split("[")[1].split("]")[0]) + 1
        return _("Cost {row}").format(row=number)
    labels = {
        "origin": _("Country of origin"),
        "destination": _("Country of destination"),
        "corridor": _("Corridor"),
        "wage": _("Monthly wage"),
        "wage_currency": _("Currency"),
    }
    return labels.get(field, field)


def result_html(result: FeeResult, lang: str) -> str:
    """The verdict, in ``lang``, as HTML for the screen and the handout."""
    tr = i18n.translation_for(lang, locales_dir()).gettext
    direction = "rtl" if i18n.is_rtl(lang) else "ltr"
    rows = []
    for verdict in result.items:
        colour = COLOURS[verdict.verdict]
        kind = tr(KINDS.get(verdict.item.kind, "Other"))
        reasons = "<br/>".join(html.escape(reason_text(r, lang)) for r in verdict.reasons)
        cites = "; ".join(verdict.citations)
        rows.append(
            f"<tr><td valign=top><b>{html.escape(kind)}</b><br/>"
            f"{html.escape(money(verdict.item.amount, verdict.item.currency, lang))}</td>"
            f'<td valign=top><b style="color:{colour}">{html.escape(tr(VERDICTS[verdict.verdict]))}'
            f"</b><br/>{reasons}<br/><small>{html.escape(cites)}</small></td></tr>"
        )
    total = tr(N_("Total paid: {worker} = {destination}")).format(
        worker=money(result.total_worker, result.worker_currency, lang),
        destination=money(result.total_destination, result.destination_currency, lang),
    )
    months = ""
    if result.months_to_repay is not None:
        months = tr(N_("Months of wages needed to repay: {months}")).format(
            months=i18n.format_number(result.months_to_repay.quantize(Decimal("0.1")), lang)
        )
    flags = "".join(
        f'<li style="color:#b00020">{html.escape(reason_text(f, lang))}</li>' for f in result.flags
    )
    rates_as_of = result.rates.as_of.isoformat() if result.rates.as_of else "—"
    rates = tr(N_("Exchange rates: approximate reference rates as of {date}.")).format(
        date=rates_as_of
    )
    return (
        f'<div dir="{direction}"><table width="100%" border="1" cellspacing="0" cellpadding="6">'
        f"{''.join(rows)}</table><p><b>{html.escape(total)}</b><br/>{html.escape(months)}</p>"
        f"<ul>{flags}</ul><p><small>{html.escape(rates)}</small></p></div>"
    )
