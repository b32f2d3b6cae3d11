"""The registry of screens shown in the sidebar.

Each feature adds one ``ScreenSpec``; the main window builds its sidebar,
stack and Ctrl+<n> shortcuts from this list, in ``order``. A screen added later
may keep the older screens' numbers with an explicit ``shortcut``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QWidget

from mrc_desktop.i18n import N_
from mrc_desktop.ui.context import AppContext


@dataclass(frozen=True)
class ScreenSpec:
    key: str
    title: str  # N_-marked; translated where shown
    order: int
    factory: Callable[[AppContext], QWidget]
    description: str = ""  # N_-marked tooltip
    shortcut: int = 0  # Ctrl+<shortcut>; 0: its place in the list


def _lazy(module: str, name: str) -> Callable[[AppContext], QWidget]:
    """A factory that imports its screen module only when the screen is first opened,
    so start-up does not pay for Markdown, the sanitizer, TOML parsing and the rest."""

    def make(ctx: AppContext) -> QWidget:
        screen_class = getattr(importlib.import_module(module), name)
        widget = screen_class(ctx)
        assert isinstance(widget, QWidget)
        return widget

    return make


def registered_screens() -> list[ScreenSpec]:
    specs = [
        ScreenSpec(
            "home",
            N_("Home"),
            0,
            _lazy("mrc_desktop.ui.home_screen", "HomeScreen"),
            N_("This desk, today's date and where to start"),
        ),
        ScreenSpec(
            "library",
            N_("Library"),
            10,
            _lazy("mrc_desktop.ui.library_screen", "LibraryScreen"),
            N_("Information for workers, in their language"),
        ),
        ScreenSpec(
            "countries",
            N_("Countries"),
            20,
            _lazy("mrc_desktop.ui.countries_screen", "CountriesScreen"),
            N_("Country profiles and corridor rules, side by side"),
        ),
        ScreenSpec(
            "fees",
            N_("Fee checker"),
            30,
            _lazy("mrc_desktop.ui.fee_checker_screen", "FeeCheckerScreen"),
            N_("Check what a worker paid against the law"),
        ),
        ScreenSpec(
            "cases",
            N_("Cases"),
            40,
            _lazy("mrc_desktop.ui.cases.cases_screen", "CasesScreen"),
            N_("The encrypted case log: intake, referrals, follow-ups"),
        ),
        ScreenSpec(
            "sync",
            # TRANSLATORS: screen name: sending and receiving cases with the hub (the
            # network's server).
            N_("Sync"),
            50,
            _lazy("mrc_desktop.ui.sync.sync_screen", "SyncScreen"),
            N_("Send cases to the hub and receive your centre's other desks' changes"),
            shortcut=7,
        ),
        ScreenSpec(
            "settings",
            N_("Settings"),
            90,
            _lazy("mrc_desktop.ui.settings_screen", "SettingsScreen"),
            N_("Interface language and centre details"),
            shortcut=6,
        ),
    ]
    return sorted(specs, key=lambda s: s.order)
