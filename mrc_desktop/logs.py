"""The rotating log file. Only technical events are logged: never names, phones or narratives.

Log calls in MRC Desk pass ids and counts, not the content of records. As a
second line of defence a filter masks anything that looks like a phone number
or an e-mail address before it reaches the file.
"""

from __future__ import annotations

import logging
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "mrc-desk.log"
MAX_BYTES = 1_000_000
BACKUPS = 5
_PHONE = re.compile(r"\+?\d[\d ()\-]{6,}\d")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _EMAIL.sub("[email]", _PHONE.sub("[number]", message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(log_dir: Path, level: int = logging.INFO) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_NAME
    root = logging.getLogger("mrc_desktop")
    for handler in list(root.handlers):
        if getattr(handler, "_mrc_handler", False):
            root.removeHandler(handler)
            handler.close()
    handler = RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    handler._mrc_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    return path
