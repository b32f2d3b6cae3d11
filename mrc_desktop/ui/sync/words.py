"""What the Sync screen says, in the interface language and in plain words.

The sync code's own messages are one-line English reasons for admins and logs; here they
become what a counsellor needs: what happened, whether the cases are safe, and what to do.
A reason from the hub (a refusal, a damaged bundle) is kept after a translated sentence,
since it is what the hub admin will ask for.
"""

from __future__ import annotations

import datetime as dt

from babel.dates import format_timedelta

from mrc_desktop import i18n
from mrc_desktop.i18n import _, ngettext
from mrc_desktop.sync.client import HubError, HubUnreachable, Progress, TlsPinError
from mrc_desktop.sync.content_install import SHIPPED, ContentInfo
from mrc_desktop.ui.locale_format import native_zero, show_date, show_datetime, show_number
from mrc_desktop.ui.sync.jobs import CANCELLED, CERTIFICATE, OFFLINE, OK, REFUSED, SyncOutcome
from mrc_desktop.ui.sync.status import parse_time

CLOCK_WARN_S = 300


def relative(when: dt.datetime, now: dt.datetime | None = None) -> str:
    """ "5 minutes ago", "in 12 minutes", in the interface language (CLDR via Babel)."""
    now = now or dt.datetime.now(dt.UTC)
    text = format_timedelta(
        when - now, add_direction=True, threshold=0.95, locale=i18n.babel_locale()
    )
    return i18n.with_digits(text, native_zero())


def moment(when: dt.datetime, now: dt.datetime | None = None) -> str:
    """A date and time with how long ago it was: "23 Nov 2026, 10:32 (5 minutes ago)"."""
    # TRANSLATORS: {date_time} is a date and time, {time_ago} says how long ago it was
    # (e.g. "5 minutes ago").
    return _("{date_time} ({time_ago})").format(
        date_time=show_datetime(when.astimezone(), "medium"), time_ago=relative(when, now)
    )


def offline() -> str:
    return _(
        "Can't reach the hub. Your cases are safe on this computer and will be sent when "
        "the connection is back."
    )


def certificate_changed() -> str:
    return _(
        "The hub presented a different security certificate than when this desk joined, so "
        "this desk did not connect. Ask the hub admin before you try again."
    )


def stage(progress: Progress | None) -> str:
    """What a running sync is doing."""
    if progress is None:
        return _("Connecting to the hub…")
    if progress.stage == "push":
        total = progress.total or progress.done
        # TRANSLATORS: the sync sends this desk's changes in parts; "3 of 10" parts.
        return _("Sending changes: part {done} of {total}…").format(
            done=show_number(progress.done), total=show_number(total)
        )
    if progress.stage == "content":
        # TRANSLATORS: content = the library articles, country profiles and fee rules.
        return _("Checking the content update: file {done} of {total}…").format(
            done=show_number(progress.done), total=show_number(progress.total or progress.done)
        )
    if progress.stage == "index":
        return _("Updating the library's search index…")
    return ngettext(
        "Receiving and applying changes from other desks: {count} part so far…",
        "Receiving and applying changes from other desks: {count} parts so far…",
        progress.done,
    ).format(count=show_number(progress.done))


def received_sentence(changes: int, new_conflict_cases: int) -> str:
    parts = [
        ngettext(
            "Received {count} change from other desks.",
            "Received {count} changes from other desks.",
            changes,
        ).format(count=show_number(changes))
    ]
    if new_conflict_cases:
        parts.append(conflicts_sentence(new_conflict_cases))
    return " ".join(parts)


def conflicts_sentence(cases: int) -> str:
    return ngettext(
        "{count} case was edited at two desks: please review it.",
        "{count} cases were edited at two desks: please review them.",
        cases,
    ).format(count=show_number(cases))


def result(outcome: SyncOutcome) -> str:
    """One line after a sync: what went, what came, and anything to review."""
    report = outcome.report
    sent, got = report.pushed_changes, report.received.changes
    if outcome.kind == OK and not sent and not got and not outcome.new_conflict_cases:
        return _("Nothing new to send or receive: this desk is up to date.")
    parts = [
        ngettext("Sent {count} change.", "Sent {count} changes.", sent).format(
            count=show_number(sent)
        ),
        received_sentence(got, outcome.new_conflict_cases),
    ]
    return " ".join(parts)


def problem(outcome: SyncOutcome) -> str:
    """Why a sync did not finish, and what to do; "" when it did."""
    if outcome.kind == OFFLINE:
        return offline()
    if outcome.kind == CERTIFICATE:
        return certificate_changed()
    if outcome.kind == CANCELLED:
        return _(
            "Sync cancelled. What was sent or received before is kept; the rest goes next time."
        )
    if outcome.kind == REFUSED:
        return refused(outcome.reason)
    return ""


def refused(reason: str) -> str:
    # TRANSLATORS: {reason} is the hub's or the sync's own explanation, in English.
    return _(
        "The sync did not finish: {reason}. What was sent or received before is kept. If this "
        "happens again, tell the hub admin."
    ).format(reason=reason)


def failed(exc: BaseException) -> str:
    """A job that stopped with an error of this computer (not the hub's answer)."""
    if "locked" in str(exc):
        return _("The case log was busy. Try again in a moment; nothing was lost.")
    return _("Something went wrong on this computer ({error}). Nothing was lost.").format(
        error=type(exc).__name__
    )


def clock(skew_s: float | None) -> str:
    """A warning when this computer's clock is more than 5 minutes off the hub's."""
    if skew_s is None or abs(skew_s) <= CLOCK_WARN_S:
        return ""
    minutes = round(abs(skew_s) / 60)
    if skew_s > 0:  # the hub's clock is ahead: this one is behind
        text = ngettext(
            "This computer's clock is {count} minute behind the hub's. Set the correct date "
            "and time.",
            "This computer's clock is {count} minutes behind the hub's. Set the correct date "
            "and time.",
            minutes,
        )
    else:
        text = ngettext(
            "This computer's clock is {count} minute ahead of the hub's. Set the correct date "
            "and time.",
            "This computer's clock is {count} minutes ahead of the hub's. Set the correct "
            "date and time.",
            minutes,
        )
    return text.format(count=show_number(minutes))


def enrol_problem(exc: BaseException) -> str:
    """Why joining (or checking the approval) did not work."""
    if isinstance(exc, TlsPinError):
        return certificate_changed()
    if isinstance(exc, HubUnreachable):
        return _(
            "Can't reach the hub at this address. Check the address and the internet "
            "connection, then try again."
        )
    if isinstance(exc, HubError):
        # TRANSLATORS: {reason} is the hub's explanation, in English.
        return _("The hub did not accept this desk: {reason}").format(reason=str(exc))
    return failed(exc)


def content_in_use(info: ContentInfo) -> str:
    """Which content the library, countries and fee checker read."""
    if info.source == SHIPPED and not info.version:
        return _("The content that came with MRC Desk.")
    if info.source == SHIPPED:
        return _("The content that came with MRC Desk (version {version}).").format(
            version=show_number(info.version)
        )
    published = parse_time(info.published_at)
    if published is None:
        return _("Version {version}, from the hub.").format(version=show_number(info.version))
    return _("Version {version}, published by the hub on {date}.").format(
        version=show_number(info.version), date=show_date(published.date(), "long")
    )


def content_installed(info: ContentInfo) -> str:
    return _(
        "Content version {version} is installed. Restart MRC Desk to see it on every screen."
    ).format(version=show_number(info.version))


def content_refused(reason: str) -> str:
    # TRANSLATORS: {reason} explains why, in English.
    return _(
        "This content update was not installed: {reason}. The content in use has not changed."
    ).format(reason=reason)
