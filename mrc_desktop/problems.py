"""A problem found in a content file, reported as ``file:line: message``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
