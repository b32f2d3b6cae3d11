"""The sync benchmark runs end to end at a tiny size, so that it cannot rot unnoticed.

Its figures are not checked here (timings belong to the benchmark, not to the test
suite); what is checked is that every figure is printed, that desk B ends with desk A's
cases (the benchmark exits 2 when a sync fails or the desks differ), and that the cut
link really cut a push and the answer-lost variant really sent one batch twice.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_the_sync_benchmark_prints_every_figure_at_a_tiny_size(tmp_path: Path) -> None:
    command = [
        sys.executable, str(ROOT / "bench" / "sync.py"), "--cases", "20", "--rounds", "2",
        "--edits", "3", "--load-desks", "3", "--load-centres", "2", "--load-batches", "2",
        "--load-cases-per-batch", "2", "--cache-dir", str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode in (0, 1), done.stdout + done.stderr  # 1: a target missed
    table = done.stdout.split("\nsync benchmark, ", 1)[1]
    for label in (
        "desk A's store",
        "first sync A → hub → B",
        "bare loopback HTTP, same requests and bytes",
        "wire bytes, push (bodies) / canonical JSON",
        "wire bytes, pull (bodies) / canonical JSON",
        "incremental A → hub → B over HTTP ",
        "incremental A → hub → B over HTTPS, pinned",
        "cut in an upload: bytes sent again",
        "cut, answer lost: bytes sent again",
        "3 desks pushing at once (sqlite): upload latency",
    ):
        assert label in table, table
    # 20 cases: one batch. Cut in its upload, nothing reached the hub twice; with the
    # answer lost, that batch was sent again (the hub answered "duplicate").
    assert re.search(r"cut in an upload: bytes sent again +\d+ KiB \(0 batch", table), table
    assert re.search(r"cut, answer lost: bytes sent again +\d+ KiB \(1 batch", table), table
    assert "(6 uploads of" in table  # 3 desks x 2 batches, each acknowledged
    assert len(list(tmp_path.glob("mrc-bench-sync-20x1-s5-v1-*/meta.json"))) == 1  # cached


def test_the_window_benchmark_prints_its_rows_at_a_tiny_size(tmp_path: Path) -> None:
    command = [
        sys.executable, str(ROOT / "bench" / "sync_ui.py"), "--cases", "10", "--idle-s", "0.5",
        "--cache-dir", str(tmp_path),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr  # the syncs succeeded
    table = done.stdout.split("\nthe window during a first sync: ", 1)[1]
    for label in ("desk A, idle (baseline)", "desk A pushes", "desk B, idle", "desk B pulls"):
        assert re.search(re.escape(label) + r".*window: longest pause \d+ ms", table), table
    pulled = re.search(r"desk B pulls ([\d,]+) changes", table)
    pushed = re.search(r"desk A pushes ([\d,]+) changes", table)
    assert pulled and pushed and pulled[1] == pushed[1] != "0", table
