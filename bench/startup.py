"""Start-up benchmark: cold start to the first shown main window.

    .venv/bin/python bench/startup.py [--runs 9] [--platform offscreen|xcb]

Each run is a new Python process on a desk that has been set up (first run
done). The baseline is a bare PySide6 QMainWindow started the same way, in the
same session, interleaved with the app's runs so both see the same machine.
Prints the medians and their ratio; the target is at most 2.0×.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 2.0


def time_to_marker(cmd: list[str], env: dict[str, str], marker: str) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if marker in line:
            elapsed = time.perf_counter() - start
            proc.wait(timeout=30)
            return elapsed
    proc.wait(timeout=30)
    raise RuntimeError(f"{cmd} ended without printing {marker!r} (exit {proc.returncode})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        (Path(home) / "config").mkdir()
        values = {"first_run_done": True, "centre_name": "Bench centre", "language": "km"}
        (Path(home) / "config" / "settings.json").write_text(
            json.dumps({"version": 1, "values": values})
        )
        env = {**os.environ, "MRC_HOME": home, "QT_QPA_PLATFORM": args.platform}
        # A desk's installed app has its bytecode cached; so must the benchmark, even where
        # the shell sets PYTHONDONTWRITEBYTECODE (as this build machine does).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "mrc_desktop")], check=True
        )
        app_cmd = [sys.executable, "-m", "mrc_desktop", "--quit-after-show"]
        bare_cmd = [sys.executable, str(ROOT / "bench" / "bare_qt.py")]
        time_to_marker(app_cmd, env, "main window shown")  # creates desk.db, warms file cache
        time_to_marker(bare_cmd, env, "main window shown")
        app_times, bare_times = [], []
        for _ in range(args.runs):
            bare_times.append(time_to_marker(bare_cmd, env, "main window shown"))
            app_times.append(time_to_marker(app_cmd, env, "main window shown"))
    app_median = statistics.median(app_times)
    bare_median = statistics.median(bare_times)
    ratio = app_median / bare_median
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(
        f"start-up to shown main window ({args.runs} runs, platform {args.platform}, "
        f"interface language km)"
    )
    print(
        f"  bare PySide6 QMainWindow  median {bare_median * 1000:6.0f} ms   "
        f"fastest {min(bare_times) * 1000:6.0f} ms"
    )
    print(
        f"  MRC Desk                  median {app_median * 1000:6.0f} ms   "
        f"fastest {min(app_times) * 1000:6.0f} ms"
    )
    print(
        f"  ratio of medians {ratio:.2f}x ({verdict} the {TARGET_RATIO:.1f}x target); "
        f"ratio of fastest runs {min(app_times) / min(bare_times):.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
