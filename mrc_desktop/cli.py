"""The `mrc` command: admin and headless tasks."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from mrc_desktop import APP_NAME, __version__, case_commands, content_commands, sync_commands
from mrc_desktop.storage.paths import app_paths


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mrc", description=f"{APP_NAME} command line")
    parser.add_argument("--version", action="version", version=f"mrc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    doctor = commands.add_parser("doctor", help="paths, versions, SQLite build, fonts and locales")
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    search = commands.add_parser("search", help="search the library")
    search.add_argument("query")
    search.add_argument("--lang", help="only articles in this language (e.g. km)")
    search.add_argument("--topic", help="only articles on this topic")
    search.add_argument("--country", help="only articles about this country (ISO code)")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument(
        "--json", action="store_true", help="print slug, lang, title, snippet and score as JSON"
    )
    fees = commands.add_parser("fees", help="the recruitment-fee checker")
    fee_commands = fees.add_subparsers(dest="fees_command", metavar="ACTION")
    fee_check = fee_commands.add_parser(
        "check", help="check the costs in FILE.json (format: see the README)"
    )
    fee_check.add_argument("file", type=Path)
    fee_check.add_argument("--json", action="store_true", help="print the result as JSON")
    fee_check.add_argument("--lang", default="en", help="language of the explanation")
    content = commands.add_parser("content", help="the library's content: check, update, status")
    content_actions = content.add_subparsers(dest="content_command", metavar="ACTION")
    check = content_actions.add_parser(
        "check", help="validate articles (file:line: message for every problem; exit 1 if any)"
    )
    check.add_argument("dir", nargs="?", type=Path, help="content folder (default: the app's)")
    content_commands.add_parsers(content_actions)
    case_commands.add_parsers(commands)
    sync_commands.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "doctor":
        return doctor(as_json=args.json)
    if args.command == "search":
        return search_command(args)
    if args.command == "fees" and args.fees_command == "check":
        return fees_check(args.file, args.json, args.lang)
    if args.command == "content" and args.content_command == "check":
        return content_check(args.dir)
    if args.command == "content" and args.content_command in content_commands.ACTIONS:
        return content_commands.run(args)
    if args.command in case_commands.COMMANDS:
        return case_commands.run(args)
    if args.command in sync_commands.COMMANDS:
        return sync_commands.run(args)
    parser.print_help()
    return 0


def search_command(args: argparse.Namespace) -> int:
    import html
    import re

    from mrc_desktop.library.index import ensure_index
    from mrc_desktop.library.search import SearchIndex
    from mrc_desktop.storage.paths import content_dir

    paths = app_paths()
    paths.cache.mkdir(parents=True, exist_ok=True)
    status = ensure_index(paths.content_db, content_dir())
    if status.rebuilt:
        print(f"indexed {status.articles} articles", file=sys.stderr)
    index = SearchIndex(paths.content_db)
    try:
        hits = index.search(
            args.query, lang=args.lang, topic=args.topic, country=args.country, limit=args.limit
        )
    finally:
        index.close()
    if args.json:
        print(json.dumps([h.as_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    for hit in hits:
        text = html.unescape(re.sub(r"</?mark>", "*", hit.snippet_html))
        print(f"{hit.title}  [{hit.lang}] {hit.slug}\n    {text}")
    if not hits:
        print("no results", file=sys.stderr)
    return 0


def fees_check(path: Path, as_json: bool, lang: str) -> int:
    from mrc_desktop.countries.explain import FIELD_PROBLEMS, explain
    from mrc_desktop.countries.fee_json import FeeInputError, parse_fee_input, result_to_dict
    from mrc_desktop.countries.fees import check_fees
    from mrc_desktop.countries.loader import load_country_data
    from mrc_desktop.countries.rates import load_rates
    from mrc_desktop.i18n import _, set_language
    from mrc_desktop.storage.paths import content_dir, locales_dir

    try:
        data = json.loads(path.read_text("utf-8"))
        fee_input = parse_fee_input(data)
    except OSError as exc:
        print(f"{path}: {exc.strerror}", file=sys.stderr)
        return 2
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        print(f"{path}: not valid JSON: {exc}", file=sys.stderr)
        return 2
    except FeeInputError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 2
    country_data, problems = load_country_data(content_dir())
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    result = check_fees(country_data, fee_input, load_rates(content_dir() / "exchange-rates.toml"))
    if as_json:
        print(json.dumps(result_to_dict(result), ensure_ascii=False, indent=2))
    else:
        set_language(lang, locales_dir())
        for field_problem in result.problems:
            print(f"{field_problem.field}: {_(FIELD_PROBLEMS[field_problem.code])}")
        print(explain(result, lang))
    return 0


def content_check(folder: Path | None) -> int:
    from mrc_desktop.storage.paths import content_dir
    from mrc_desktop.sync.content_check import check_content_folder

    root = folder or content_dir()
    if not root.is_dir():
        print(f"{root}: not a folder", file=sys.stderr)
        return 2

    checked = check_content_folder(root)
    for problem in checked.problems:
        print(problem)
    print(checked.summary(), file=sys.stderr)
    return 0 if checked.ok else 1


def qt_facts() -> dict[str, Any]:
    """Qt version and fonts, read through a headless QGuiApplication (no window opens)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion
    from PySide6.QtGui import QGuiApplication

    from mrc_desktop.typefaces import ALL_FAMILIES, register_fonts

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    registered = register_fonts()
    missing = [f for f in ALL_FAMILIES if f not in registered]
    del app
    return {
        "qt": qVersion(),
        "pyside6": pyside_version,
        "fonts_registered": registered,
        "fonts_missing": missing,
    }


def doctor(as_json: bool) -> int:
    from mrc_desktop.diagnostics import doctor_report

    report = doctor_report(app_paths(), qt_facts())
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(format_doctor(report))
    healthy = report["sqlite"]["two_char_non_ascii_like"] and not report["qt"]["fonts_missing"]
    return 0 if healthy else 1


def format_doctor(report: dict[str, Any]) -> str:
    sqlite = report["sqlite"]
    qt = report["qt"]
    yes = {True: "yes", False: "NO"}
    lines = [
        f"MRC Desk {report['version']}",
        "",
        "Paths",
        *(f"  {name:<10} {path}" for name, path in report["paths"].items()),
        "",
        f"Python     {report['python']} on {report['platform']}",
        f"Qt         {qt['qt']} (PySide6 {qt['pyside6']})",
        f"SQLite     {sqlite['library']} (SQLCipher {sqlite['sqlcipher']}); "
        f"Python's own sqlite3 is {sqlite['python_bundled_sqlite3']}",
        f"  FTS5 {yes[sqlite['fts5']]} · trigram tokenizer {yes[sqlite['trigram']]} · "
        f"2-character non-ASCII LIKE {yes[sqlite['two_char_non_ascii_like']]}",
        "",
        f"Fonts      {len(qt['fonts_registered'])} families registered: "
        + ", ".join(qt["fonts_registered"]),
    ]
    if qt["fonts_missing"]:
        lines.append("  MISSING: " + ", ".join(qt["fonts_missing"]))
    lines += ["", "Locales    code  translated  compiled  status"]
    for loc in report["locales"]:
        share = f"{loc['translated']}/{loc['total']}"
        fuzzy = f" ({loc['fuzzy']} fuzzy)" if loc["fuzzy"] else ""
        lines.append(
            f"           {loc['code']:<5} {share:>10}  {yes[loc['compiled']]:<8}  "
            f"{loc['status']}{fuzzy}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
