"""Catalog maintenance: extract → update → compile.

    python scripts/i18n.py extract   # scan the code, write locales/mrc_desktop.pot
    python scripts/i18n.py update    # merge the .pot into every .po (GNU msgmerge keeps headers)
    python scripts/i18n.py compile   # .po → .mo for every language (pure Python, Babel)

New catalogs start with the header ``X-Translation-Status: draft``; set it to
``reviewed`` once a native speaker has checked the file. The app shows "draft
translation" next to languages still in draft.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
DOMAIN = "mrc_desktop"
POT = LOCALES / f"{DOMAIN}.pot"
sys.path.insert(0, str(ROOT))

from mrc_desktop.i18n import LANGUAGES, SOURCE_LANGUAGE  # noqa: E402


def pybabel(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", *args], check=True, cwd=ROOT
    )


def po_path(code: str) -> Path:
    return LOCALES / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> None:
    pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "-c",
        "TRANSLATORS:",
        "-k",
        "pgettext:1c,2",
        "--sort-by-file",
        "--omit-header",
        "-o",
        str(POT),
        "mrc_desktop",
    )
    text = POT.read_text(encoding="utf-8")
    header = (
        "# Interface strings of MRC Desk.\n"
        'msgid ""\nmsgstr ""\n'
        '"Project-Id-Version: MRC Desk\\n"\n'
        '"MIME-Version: 1.0\\n"\n'
        '"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Content-Transfer-Encoding: 8bit\\n"\n\n'
    )
    POT.write_text(header + text, encoding="utf-8")


def init(code: str) -> None:
    target = po_path(code)
    target.parent.mkdir(parents=True, exist_ok=True)
    pybabel("init", "-i", str(POT), "-d", str(LOCALES), "-D", DOMAIN, "-l", code)
    text = target.read_text(encoding="utf-8")
    text = text.replace('"Generated-By:', '"X-Translation-Status: draft\\n"\n"Generated-By:', 1)
    target.write_text(text, encoding="utf-8")


def update() -> None:
    for code in LANGUAGES:
        if code == SOURCE_LANGUAGE:
            continue
        if not po_path(code).exists():
            init(code)
            continue
        subprocess.run(
            ["msgmerge", "--quiet", "--update", "--backup=none", str(po_path(code)), str(POT)],
            check=True,
        )


def compile_all() -> None:
    for code in LANGUAGES:
        if code != SOURCE_LANGUAGE and po_path(code).exists():
            mo = po_path(code).with_suffix(".mo")
            pybabel("compile", "-i", str(po_path(code)), "-o", str(mo), "-D", DOMAIN, "-l", code)


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    actions = {"extract": extract, "update": update, "compile": compile_all}
    if command not in actions:
        print(__doc__)
        return 2
    actions[command]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
