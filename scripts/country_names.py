"""Fill the [names] table of country profiles from CLDR (via Babel), in the 13 UI languages.

    python scripts/country_names.py content/countries/*.toml

Rewrites only the [names] table (adding it after the top-level keys if missing); the rest of
each file is left exactly as it is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mrc_desktop.i18n import LANGUAGES, country_names

NAMES_BLOCK = re.compile(r"^\[names\]\n(?:[^\[\n].*\n|\n)*", re.MULTILINE)


def names_block(code: str) -> str:
    lines = ["[names]"]
    for lang in LANGUAGES:
        name = country_names(lang).get(code, country_names("en").get(code, code))
        lines.append(f'{lang} = "{name}"')
    return "\n".join(lines) + "\n\n"


def fill(path: Path) -> None:
    text = path.read_text("utf-8")
    code = path.stem.upper()
    block = names_block(code)
    if NAMES_BLOCK.search(text):
        text = NAMES_BLOCK.sub(block, text, count=1)
    else:
        first_table = text.find("\n[")
        insert_at = first_table + 1 if first_table != -1 else len(text)
        text = text[:insert_at] + "\n" + block + text[insert_at:]
        text = re.sub(r"\n{3,}", "\n\n", text)
    path.write_text(text, "utf-8")


def main() -> int:
    for name in sys.argv[1:]:
        fill(Path(name))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
