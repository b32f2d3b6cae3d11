"""Country profiles and corridors as HTML for the Countries screen (labels in the UI language).

Origin and destination sit side by side; every section shows its status and its "as of"
date, and anything older than 18 months is flagged. Phone numbers are ``copy:`` links the
screen turns into a one-click copy.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from urllib.parse import quote

from mrc_desktop.countries import model as m
from mrc_desktop.i18n import N_, _

DateText = Callable[[dt.date], str]

RATIFICATION_LABELS = {
    "ratified": N_("Ratified {year}"),
    "not_found": N_("No ratification found"),
    "not_member": N_("Cannot ratify (not an ILO member)"),
    "applied": N_("Applied"),
    "planned": N_("Planned"),
}
STATUS_LABELS = {
    "verified": N_("verified"),
    "partly_verified": N_("partly verified"),
    "unverified": N_("unverified"),
}
POLICY_LABELS = {
    "zero_cost": N_("Workers pay no recruitment costs"),
    "cap_amount": N_("Fees capped at {amount} {currency}"),
    "cap_months": N_("Fees capped at {months} month(s) of wages"),
    "none": N_(
        "No specific rule: ILO C181 Art. 7 and the ILO definition of recruitment fees apply"
    ),
}
ROLE_LABELS = {
    "origin": N_("Country of origin"),
    "destination": N_("Country of destination"),
    "both": N_("Country of origin and destination"),
}
BADGE = {
    "ratified": "#1b5e20",
    "applied": "#1b5e20",
    "planned": "#8d6e00",
    "not_found": "#555555",
    "not_member": "#555555",
}


# Texts used inside f-strings (marked here, translated where used).
TEXT = {
    "t0": N_("Channels:"),
    "t1": N_("Choose a country of origin and a country of destination."),
    "t2": N_("Documents needed:"),
    "t3": N_(
        "No data for this corridor yet. ILO C181 Art. 7 and the ILO definition of recruitment "
        "fees and related costs apply: workers should not pay recruitment fees or related costs."
    ),
    "t4": N_("No information."),
    "t5": N_("No verified channel in our data. Ask the MRC."),
    "t6": N_("Pre-departure orientation:"),
    "t7": N_("Related articles in the library"),
    "t8": N_("Reported:"),
    "t9": N_("Sources:"),
    "t10": N_("click to copy"),
    "t11": N_("older than 18 months"),
    "t12": N_("reviewed {date}"),
}


def esc(text: str) -> str:
    return html.escape(text)


def data(text: str) -> str:
    """A paragraph of country data. It is written in English, so it keeps left-to-right
    order inside an Arabic page."""
    return f'<p dir="ltr">{esc(text)}</p>' if text else ""


def sourced_line(sourced: m.Sourced, date_text: DateText, today: dt.date | None = None) -> str:
    status = _(STATUS_LABELS.get(sourced.status, sourced.status))
    line = _("As of {date} · {status}").format(date=date_text(sourced.as_of), status=status)
    parts = [f"<b>{esc(line)}</b>"]
    if sourced.is_stale(today):
        parts.append(f'<span style="color:#b00020"> ⚠ {esc(_(TEXT["t11"]))}</span>')
    sources = "; ".join(sourced.sources)
    parts.append(f"<br/><small>{esc(_(TEXT['t9']))} {esc(sources)}</small>")
    return f'<p style="color:#333333">{"".join(parts)}</p>'


def ratifications_html(country: m.Country, date_text: DateText) -> str:
    badges = []
    for instrument in m.INSTRUMENTS:
        r = country.ratifications.get(instrument)
        if r is None:
            continue
        label = _(RATIFICATION_LABELS[r.status]).format(year=r.year or "")
        note = f" — {esc(r.note)}" if r.note else ""
        badges.append(
            f'<span style="background-color:{BADGE[r.status]}; color:white">&nbsp;{instrument}'
            f"&nbsp;</span> {esc(label)}{note}<br/>"
        )
    return "".join(badges) + sourced_line(country.ratifications_sourced, date_text)


def wage_html(country: m.Country, date_text: DateText) -> str:
    wage = country.minimum_wage
    if wage is None:
        return f"<p>{esc(_(TEXT['t4']))}</p>"
    periods = {"hour": _("per hour"), "day": _("per day"), "month": _("per month")}
    amount = (
        f"<b>{esc(str(wage.amount))} {esc(wage.currency)} "
        f"{esc(periods.get(wage.period, ''))}</b><br/>"
        if wage.amount is not None
        else ""
    )
    return f"<p>{amount}</p>{data(wage.who)}" + sourced_line(wage.sourced, date_text)


def fact_html(fact: m.TextFact | None, date_text: DateText) -> str:
    if fact is None:
        return f"<p>{esc(_(TEXT['t4']))}</p>"
    return data(fact.text) + sourced_line(fact.sourced, date_text)


def channels_html(country: m.Country, date_text: DateText) -> str:
    if not country.channels and not country.organizations:
        return f"<p>{esc(_(TEXT['t5']))}</p>"
    parts = []
    for channel in country.channels:
        phone = ""
        if channel.phone:
            phone = (
                f' · <a href="copy:{quote(channel.phone)}">☎ {esc(channel.phone)}</a> '
                f"<small>({esc(_(TEXT['t10']))})</small>"
            )
        extra = " · ".join(x for x in (channel.hours, ", ".join(channel.languages)) if x)
        parts.append(
            f"<p><b>{esc(channel.name)}</b>{phone}<br/>{esc(extra)}"
            f"{'<br/>' if extra else ''}{esc(channel.note)}</p>"
            + sourced_line(channel.sourced, date_text)
        )
    for org in country.organizations:
        parts.append(
            f"<p><b>{esc(org.name)}</b> ({esc(org.kind.replace('_', ' '))})<br/>"
            f"{esc(org.contact)}</p>" + sourced_line(org.sourced, date_text)
        )
    return "".join(parts)


def policy_html(corridor: m.Corridor | None, date_text: DateText) -> str:
    if corridor is None:
        return f"<p>{esc(_(TEXT['t3']))}</p>"
    policy = corridor.fee_policy
    title = _(POLICY_LABELS[policy.kind]).format(
        amount=policy.cap_amount or "", currency=policy.cap_currency, months=policy.cap_months or ""
    )
    channels = ", ".join(c.replace("_", " ") for c in corridor.channels)
    parts = [f"<p><b>{esc(title)}</b></p>{data(policy.summary)}"]
    if policy.applies_to:
        parts.append(data(policy.applies_to))
    parts.append(f"<p>{esc(_(TEXT['t0']))} {esc(channels)}</p>")
    parts.append(sourced_line(policy.sourced, date_text))
    for cost in corridor.typical_costs:
        amount = f"{cost.amount} {cost.currency} — " if cost.amount is not None else ""
        parts.append(
            f"<p>{esc(_(TEXT['t8']))} {esc(amount)}{esc(cost.what)}</p>"
            + sourced_line(cost.sourced, date_text)
        )
    if corridor.documents_needed:
        parts.append(f"<p>{esc(_(TEXT['t2']))} {esc(', '.join(corridor.documents_needed))}</p>")
    if corridor.pre_departure:
        parts.append(f"<p>{esc(_(TEXT['t6']))} {esc(corridor.pre_departure)}</p>")
    return "".join(parts)


def corridor_html(
    origin: m.Country | None,
    destination: m.Country | None,
    corridor: m.Corridor | None,
    lang: str,
    date_text: DateText,
    related: list[tuple[str, str]],
) -> str:
    columns = [c for c in (origin, destination) if c is not None]
    if not columns:
        return f"<p>{esc(_(TEXT['t1']))}</p>"
    head = "".join(
        f'<th width="{100 // len(columns)}%" align="left"><h2>{esc(c.name(lang))}</h2>'
        f"<small>{esc(_(ROLE_LABELS.get(c.role, '')))} · "
        f"{esc(_(TEXT['t12']).format(date=date_text(c.reviewed)))}</small></th>"
        for c in columns
    )
    rows = [
        (_("ILO conventions"), [ratifications_html(c, date_text) for c in columns]),
        (_("Minimum wage"), [wage_html(c, date_text) for c in columns]),
        (_("Weekly rest"), [fact_html(c.weekly_rest, date_text) for c in columns]),
        (_("Who may hold passports and ID"), [fact_html(c.documents, date_text) for c in columns]),
        (_("Complaints and referrals"), [channels_html(c, date_text) for c in columns]),
    ]
    body = "".join(
        f'<tr><td colspan="{len(columns)}"><h3>{esc(title)}</h3></td></tr>'
        f"<tr>{''.join(f'<td valign=top>{cell}</td>' for cell in cells)}</tr>"
        for title, cells in rows
    )
    table = f'<table width="100%" cellspacing="0" cellpadding="6"><tr>{head}</tr>{body}</table>'
    fee = ""
    if origin is not None and destination is not None:
        heading = _("Recruitment fees: {origin} → {destination}").format(
            origin=origin.name(lang), destination=destination.name(lang)
        )
        fee = f"<h3>{esc(heading)}</h3>{policy_html(corridor, date_text)}"
    links = "".join(
        f'<li><a href="mrc:article/{esc(slug)}">{esc(title)}</a></li>' for slug, title in related
    )
    articles = f"<h3>{esc(_(TEXT['t7']))}</h3><ul>{links}</ul>" if links else ""
    return fee + table + articles
