"""Markdown to plain text, for the search index and snippets."""

from __future__ import annotations

import re

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKUP = re.compile(r"(^|\s)[#>*\-+]+\s|[*_`|]+")
_SPACES = re.compile(r"[ \t]+")


def markdown_to_text(markdown_text: str) -> str:
    text = _LINK.sub(r"\1", markdown_text)
    lines = []
    for line in text.splitlines():
        line = _MARKUP.sub(lambda m: m.group(1) or " ", line)
        line = _SPACES.sub(" ", line).strip()
        if line and not set(line) <= {"-", ":", " "}:
            lines.append(line)
    return "\n".join(lines)
