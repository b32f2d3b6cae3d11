"""Catalog maintenance: extract → update → compile.

    python scripts/i18n.py extract   # scan the code, write locales/mrc_desktop.pot
    python scripts/i18n.py update    # merge the .pot into every .po (GNU msgmerge keeps headers)
    python scripts/i18n.py compile   # .po → .mo for every language (pure Python, Babel)
    python scripts/i18n.py check [CODE…]  # untranslated, fuzzy, placeholders, &, msgfmt --check

New catalogs start with the header ``X-Translation-Status: draft``; set it to
``reviewed`` once a native speaker has checked the file. The app shows "draft
translation" next to languages still in draft.
"""

from __future__ import annotations

import os
import re
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
        # Strings removed from the code are dropped, not kept as #~ comments.
        path = str(po_path(code))
        subprocess.run(["msgattrib", "--no-obsolete", "-o", path, path], check=True)


def compile_all() -> None:
    for code in LANGUAGES:
        if code != SOURCE_LANGUAGE and po_path(code).exists():
            mo = po_path(code).with_suffix(".mo")
            pybabel("compile", "-i", str(po_path(code)), "-o", str(mo), "-D", DOMAIN, "-l", code)


PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


def catalog_problems(code: str) -> list[str]:
    """Every problem in one catalog: untranslated, fuzzy, placeholder or accelerator mismatch,
    or a failure of GNU ``msgfmt --check``. Empty when the catalog is complete."""
    from babel.messages.pofile import read_po

    path = po_path(code)
    rel = path.relative_to(ROOT)
    if not path.exists():
        return [f"{rel}: missing"]
    problems: list[str] = []
    with path.open("rb") as fh:
        catalog = read_po(fh)
    with POT.open("rb") as fh:
        template_ids = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    seen: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        strings = (
            (message.string,) if isinstance(message.string, str) else tuple(message.string or ())
        )
        where = f"{rel}:{message.lineno}"
        seen.add(ids[0])
        if message.fuzzy:
            problems.append(f"{where}: fuzzy: {ids[0]!r}")
        if not all(strings):
            problems.append(f"{where}: untranslated: {ids[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"{where}: placeholders differ from {ids[0]!r}")
            if ids[0].count("&") != string.count("&"):
                problems.append(f"{where}: keyboard accelerator (&) missing or extra: {ids[0]!r}")
    for missing in sorted(template_ids - seen):
        problems.append(f"{rel}: not merged from the template: {missing!r}")
    result = subprocess.run(
        ["msgfmt", "--check", "-o", os.devnull, str(path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        problems.append(f"{rel}: msgfmt --check failed: {result.stderr.strip()}")
    return problems


def check(codes: list[str]) -> int:
    wanted = codes or [c for c in LANGUAGES if c != SOURCE_LANGUAGE]
    problems = [p for code in wanted for p in catalog_problems(code)]
    print("\n".join(problems) if problems else "all catalogs complete")
    return 1 if problems else 0


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "check":
        return check(sys.argv[2:])
    actions = {"extract": extract, "update": update, "compile": compile_all}
    if command not in actions:
        print(__doc__)
        return 2
    actions[command]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
