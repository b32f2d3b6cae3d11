"""`mrc search` and `mrc content check` as an admin or script uses them."""

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.library.conftest import write_article


def mrc(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MRC_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "mrc_desktop.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_search_json_in_thai(mrc_home: Path) -> None:
    result = mrc("search", "passport", "--json", home=mrc_home)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits and {"slug", "lang", "title", "snippet", "score"} <= set(hits[0])
    assert any(h["slug"] == "keep-your-passport" for h in hits)
    thai = json.loads(mrc("search", "หนังสือเดินทาง", "--lang", "th", "--json", home=mrc_home).stdout)
    assert thai and all(h["lang"] == "th" for h in thai)


def test_search_text_output_and_topic_filter(mrc_home: Path) -> None:
    result = mrc("search", "passport", "--topic", "contracts", home=mrc_home)
    assert "keep-your-passport" in result.stdout
    assert "who-pays-recruitment-costs" not in result.stdout


def test_content_check_reports_file_and_line(tmp_path: Path, mrc_home: Path) -> None:
    root = tmp_path / "content"
    write_article(root, "en", "fees")
    bad = write_article(root, "en", "bad")
    bad.write_text(
        bad.read_text("utf-8").replace("Reviewed: 2026-01-15", "Reviewed: soon"), "utf-8"
    )
    result = mrc("content", "check", str(root), home=mrc_home)
    assert result.returncode == 1
    assert f"{bad}:6: reviewed date 'soon' is not YYYY-MM-DD" in result.stdout
    assert "1 articles loaded" in result.stderr
