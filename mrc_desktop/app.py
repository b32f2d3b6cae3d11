"""Start-up: settings, fonts, translations, the desk store, then the main window."""

from __future__ import annotations

import argparse
import logging
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from mrc_desktop import APP_NAME, __version__
from mrc_desktop.i18n import N_, _, pgettext
from mrc_desktop.logs import setup_logging
from mrc_desktop.settings import Settings, SettingsProblem, load_settings
from mrc_desktop.storage.database import DatabaseOpenError
from mrc_desktop.storage.desk_store import DeskState, DeskStore
from mrc_desktop.storage.migrate import DatabaseTooNewError
from mrc_desktop.storage.paths import AppPaths, DataDirError, app_paths, ensure_writable
from mrc_desktop.typefaces import register_fonts
from mrc_desktop.ui.context import AppContext, AppEvents, LanguageSwitcher
from mrc_desktop.ui.error_dialog import install_excepthook
from mrc_desktop.ui.main_window import MainWindow
from mrc_desktop.ui.style import apply_style

log = logging.getLogger("mrc_desktop.app")
SHOWN_MARKER = "mrc-desk: main window shown"

SETTINGS_NOTICES = {
    "unreadable": N_("Your settings file could not be read, so default settings are in use."),
    "corrupt": N_(
        "Your settings file was damaged, so default settings are in use. "
        "The damaged file was kept beside the new one."
    ),
    "bad_values": N_("Some saved settings were not valid and were reset to their defaults."),
}
UNCLEAN_NOTICE = N_(
    "MRC Desk did not close properly last time (for example after a power cut). "
    "Details are in the log file."
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mrc-desktop", description=APP_NAME)
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument(
        "--quit-after-show",
        action="store_true",
        help="open the main window, print a marker line and quit (start-up checks and benchmarks)",
    )
    return parser.parse_args(argv)


def fatal(title: str, text: str, interactive: bool = True) -> None:
    """Say why the app cannot start: on stderr always, and in a dialog for a person."""
    print(f"{title}: {text}", file=sys.stderr, flush=True)
    log.error("cannot start: %s", title)
    if not interactive:
        return
    box = QMessageBox(QMessageBox.Icon.Critical, title, text)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.button(QMessageBox.StandardButton.Close).setText(pgettext("button", "Close"))
    box.exec()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    interactive = not args.quit_after_show
    paths = app_paths()
    settings, problem = load_settings(paths.settings_file)
    register_fonts()
    apply_style(app)
    switcher = LanguageSwitcher(app)
    switcher.apply(settings.get("language"))
    try:
        ensure_writable(paths)
    except DataDirError as exc:
        fatal(
            _("MRC Desk cannot start"),
            _(
                "MRC Desk cannot write to this folder:\n{path}\n({reason})\n\n"
                "Check that the folder exists and that you may write to it, or set MRC_HOME "
                "to another folder."
            ).format(path=str(exc.path), reason=exc.reason),
            interactive,
        )
        return 2
    setup_logging(paths.logs)
    install_excepthook()
    log.info("starting MRC Desk %s", __version__)
    try:
        store = DeskStore(paths.desk_db)
        desk = store.start_run()
    except DatabaseTooNewError as exc:
        fatal(
            _("MRC Desk cannot start"),
            _(
                "The file {path} was written by a newer version of MRC Desk. "
                "Install the newer version to open it; nothing has been changed."
            ).format(path=str(exc.path)),
            interactive,
        )
        return 3
    except DatabaseOpenError as exc:
        fatal(
            _("MRC Desk cannot start"),
            _(
                "The file {path} cannot be opened ({reason}). Move it away or restore it "
                "from a backup; MRC Desk has not changed it."
            ).format(path=str(exc.path), reason=exc.reason),
            interactive,
        )
        return 3
    try:
        return _run(app, args, paths, settings, problem, switcher, desk, store)
    finally:
        store.end_run(desk.run_id)
        store.close()
        log.info("MRC Desk closed")


def _run(
    app: QApplication,
    args: argparse.Namespace,
    paths: AppPaths,
    settings: Settings,
    problem: SettingsProblem | None,
    switcher: LanguageSwitcher,
    desk: DeskState,
    store: DeskStore,
) -> int:
    if not settings.get("first_run_done"):
        from mrc_desktop.ui.first_run import FirstRunWizard  # only on a desk's first start

        wizard = FirstRunWizard(settings, switcher)
        if args.quit_after_show:
            return 1  # start-up checks need a desk that has been set up
        if wizard.exec() != FirstRunWizard.DialogCode.Accepted:
            log.info("first-run setup cancelled")
            return 0
    ctx = AppContext(paths, settings, desk, switcher, AppEvents(), store)
    window = MainWindow(ctx)
    if problem is not None:
        window.notices.add(SETTINGS_NOTICES[problem.kind])
    if desk.previous_run_unclean:
        window.notices.add(UNCLEAN_NOTICE)
    window.show()
    if args.quit_after_show:
        QTimer.singleShot(0, lambda: _report_shown_and_quit(app, window))
    code = app.exec()
    from mrc_desktop.ui.library_loader import stop_all

    stop_all()  # an index build still running is cancelled; the old index stays valid
    return code


def _report_shown_and_quit(app: QApplication, window: QWidget) -> None:
    print(SHOWN_MARKER if window.isVisible() else "mrc-desk: main window NOT shown", flush=True)
    window.close()
    app.quit()
