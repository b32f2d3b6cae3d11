"""Render MRC Desk screens to PNG files (for docs/ and for looking at changes).

    python scripts/screenshot.py --lang km --screen home --out docs/main-window-km.png
    python scripts/screenshot.py --lang ar --wizard --out docs/first-run-ar.png

Runs with a throwaway MRC_HOME; use it under xvfb-run for a real X window.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", default="en")
    parser.add_argument("--screen", default="home")
    parser.add_argument("--wizard", action="store_true")
    parser.add_argument("--centre", default="Migrant Worker Resource Centre, Phnom Penh")
    parser.add_argument("--country", default="KH")
    parser.add_argument("--size", default="1100x700")
    parser.add_argument("--article", help="library: open this article (slug)")
    parser.add_argument("--worker-lang", help="library: the worker's language")
    parser.add_argument("--side-by-side", metavar="LANG", help="library: second language")
    parser.add_argument("--search", help="library: type this into the search box")
    parser.add_argument("--corridor", help="countries/fees: ORIGIN-DESTINATION, e.g. NP-MY")
    parser.add_argument(
        "--fee-example",
        action="store_true",
        help="fees: fill in the Nepal → Malaysia example and check it",
    )
    parser.add_argument("--explain-lang", help="fees: language of the explanation")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mrc-shot-"))
    os.environ["MRC_HOME"] = str(home)
    (home / "config").mkdir(parents=True)
    values = {
        "language": args.lang,
        "centre_name": args.centre,
        "centre_country": args.country,
        "first_run_done": not args.wizard,
    }
    (home / "config" / "settings.json").write_text(
        json.dumps({"version": 1, "values": values}), encoding="utf-8"
    )

    from PySide6.QtWidgets import QApplication, QWidget

    from mrc_desktop.settings import load_settings
    from mrc_desktop.storage.desk_store import DeskStore
    from mrc_desktop.storage.paths import app_paths, ensure_writable
    from mrc_desktop.typefaces import register_fonts
    from mrc_desktop.ui.context import AppContext, AppEvents, LanguageSwitcher
    from mrc_desktop.ui.first_run import FirstRunWizard
    from mrc_desktop.ui.main_window import MainWindow
    from mrc_desktop.ui.style import apply_style

    app = QApplication(sys.argv[:1])
    paths = app_paths()
    ensure_writable(paths)
    settings, _problem = load_settings(paths.settings_file)
    register_fonts()
    apply_style(app)
    switcher = LanguageSwitcher(app)
    switcher.apply(args.lang)
    width, height = (int(v) for v in args.size.split("x"))
    widget: QWidget
    if args.wizard:
        wizard = FirstRunWizard(settings, switcher)
        if args.screen == "centre":
            wizard.show()
            wizard.next()
        widget = wizard
    else:
        store = DeskStore(paths.desk_db)
        desk = store.start_run()
        window = MainWindow(AppContext(paths, settings, desk, switcher, AppEvents(), store))
        window.show_screen(args.screen)
        widget = window
        if args.screen == "library":
            _drive_library(window.page("library"), args)
        if args.screen in ("countries", "fees") and args.corridor:
            _drive_countries(window.page(args.screen), args)
    widget.resize(width, height)
    widget.show()
    for _ in range(5):
        app.processEvents()
    widget.grab().save(args.out)
    print(args.out)
    return 0


def _drive_countries(screen: object, args: argparse.Namespace) -> None:
    from mrc_desktop.ui.countries_screen import CountriesScreen
    from mrc_desktop.ui.fee_checker_screen import FeeCheckerScreen

    origin, destination = args.corridor.split("-")
    if isinstance(screen, CountriesScreen):
        screen.select(origin, destination)
        return
    assert isinstance(screen, FeeCheckerScreen)
    screen.origin.setCurrentIndex(screen.origin.findData(origin))
    screen.destination.setCurrentIndex(screen.destination.findData(destination))
    if args.explain_lang:
        screen.explain_lang.setCurrentIndex(screen.explain_lang.findData(args.explain_lang))
    if args.fee_example:
        screen.wage.setText("1700")
        screen.table.removeRow(0)
        screen.add_item("recruitment_fee", "150000", "NPR", "2025-03-01", "agency", False)
        screen.add_item("ticket", "45000", "NPR", "2025-03-10", "agency", True)
        screen.add_item("visa", "20000", "NPR", "", "agency", True)
        screen.add_item("medical", "5000", "NPR", "", "clinic", True)
        screen.run_check()


def _drive_library(library: object, args: argparse.Namespace) -> None:
    from mrc_desktop.ui.library_screen import LibraryScreen

    assert isinstance(library, LibraryScreen)
    library.wait_loaded()
    from PySide6.QtWidgets import QApplication

    for _ in range(20):
        QApplication.processEvents()
    if args.worker_lang:
        library.worker_lang.setCurrentIndex(library.worker_lang.findData(args.worker_lang))
    if args.side_by_side:
        library.side_by_side.setChecked(True)
        library.counsellor_lang.setCurrentIndex(library.counsellor_lang.findData(args.side_by_side))
    if args.article:
        library.open_article(args.article)
    if args.search:
        library.search_box.setText(args.search)
        library.run_search()


if __name__ == "__main__":
    raise SystemExit(main())
