"""Content quality shared by articles and country data: problems reported as
``file:line: message``, and when content counts as stale."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

STALE_AFTER_DAYS = 548  # about 18 months: content checked longer ago than this is flagged


def is_stale(checked: dt.date, today: dt.date | None = None) -> bool:
    return ((today or dt.date.today()) - checked).days > STALE_AFTER_DAYS


@dataclass(frozen=True)
class ContentProblem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class ContentError(ValueError):
    def __init__(self, problems: list[ContentProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
