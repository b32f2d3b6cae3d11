"""User settings, declared once (name, type, default, description) and kept as JSON.

The file lives in the config folder. A corrupt or unreadable file never stops
the app: defaults are used, the bad file is set aside (not deleted) and the
caller gets a ``SettingsProblem`` to show. Writes are atomic.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mrc_desktop.i18n import LANGUAGES, N_
from mrc_desktop.storage.files import atomic_write_text

SETTINGS_VERSION = 1


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    description: str  # marked with N_, translated where shown
    choices: tuple[str, ...] = ()


DECLARED: tuple[Setting, ...] = (
    Setting("language", str, "en", N_("Language of the interface"), LANGUAGES),
    Setting("centre_name", str, "", N_("Name of this resource centre, printed on handouts")),
    Setting("centre_country", str, "", N_("Country where this centre works")),
    Setting("first_run_done", bool, False, N_("The first-run setup has been completed")),
    Setting("window_geometry", str, "", N_("Size and position of the main window")),
    Setting("reader_text_size", int, 0, N_("Text size in the article reader (steps)")),
    Setting(
        "auto_lock_minutes",
        int,
        5,
        N_("Lock the case log after this many minutes without use (1 to 60)"),
    ),
    Setting("backup_keep", int, 14, N_("Daily case-log backups to keep (1 to 90)")),
    Setting(
        "sync_interval_minutes",
        int,
        15,
        N_("Sync with the hub automatically every this many minutes (5 to 240; 0 = off)"),
    ),
)
LIMITS: dict[str, tuple[int, int]] = {
    "auto_lock_minutes": (1, 60),
    "backup_keep": (1, 90),
    "reader_text_size": (-4, 12),
    "sync_interval_minutes": (0, 240),
}
OFF_OR_AT_LEAST: dict[str, int] = {"sync_interval_minutes": 5}
"""Settings where 0 means off and any other value must reach this minimum."""
BY_NAME = {s.name: s for s in DECLARED}


def describe(name: str) -> str:
    """The N_-marked description of a setting (translate it where shown)."""
    return BY_NAME[name].description


@dataclass(frozen=True)
class SettingsProblem:
    kind: str  # "unreadable", "corrupt" or "bad_values"
    path: Path
    moved_to: Path | None = None
    keys: tuple[str, ...] = ()


@dataclass
class Settings:
    path: Path
    values: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        return self.values.get(name, BY_NAME[name].default)

    def set(self, name: str, value: Any) -> None:
        spec = BY_NAME[name]
        if not _valid(spec, value):
            raise ValueError(f"setting {name!r}: {value!r} is not a valid {spec.type.__name__}")
        self.values[name] = value

    def save(self) -> None:
        payload = {"version": SETTINGS_VERSION, "values": dict(sorted(self.values.items()))}
        atomic_write_text(self.path, json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def _valid(spec: Setting, value: Any) -> bool:
    if type(value) is not spec.type:  # bool is an int subclass: compare exactly
        return False
    low, high = LIMITS.get(spec.name, (None, None))
    if isinstance(value, int) and low is not None and high is not None and not low <= value <= high:
        return False
    if isinstance(value, int) and 0 < value < OFF_OR_AT_LEAST.get(spec.name, 0):
        return False
    return not spec.choices or value in spec.choices


def load_settings(path: Path) -> tuple[Settings, SettingsProblem | None]:
    if not path.exists():
        return Settings(path), None
    try:
        raw = path.read_bytes()
    except OSError:
        return Settings(path), SettingsProblem("unreadable", path)
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
            raise ValueError("no 'values' object")
    except ValueError:
        return Settings(path), SettingsProblem("corrupt", path, _set_aside(path))
    values: dict[str, Any] = {}
    bad: list[str] = []
    for name, value in data["values"].items():
        spec = BY_NAME.get(name)
        if spec is None:
            continue  # a setting from another version: ignored, not an error
        if _valid(spec, value):
            values[name] = value
        else:
            bad.append(name)
    problem = SettingsProblem("bad_values", path, keys=tuple(bad)) if bad else None
    return Settings(path, values), problem


def _set_aside(path: Path) -> Path | None:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        path.replace(target)
    except OSError:
        return None
    return target


CENTRE_NAME_MAX = 120


def centre_name_problem(text: str) -> str | None:
    """Why a centre name is not acceptable (an N_-marked message), or None."""
    name = text.strip()
    if not name:
        return N_("Enter the name of your centre.")
    if len(name) > CENTRE_NAME_MAX:
        return N_("The centre name is too long: use at most 120 characters.")
    if any(
        ord(ch) < 32 or 0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 for ch in name
    ):
        return N_("The centre name contains invisible control characters. Please retype it.")
    return None
