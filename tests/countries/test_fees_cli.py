"""`mrc fees check FILE.json` gives the same verdict as the screen."""

import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = {
    "origin": "NP",
    "destination": "MY",
    "wage": {"amount": "1700", "currency": "MYR"},
    "items": [
        {"kind": "recruitment_fee", "amount": "150000", "currency": "NPR", "paid_to": "agency"},
        {"kind": "ticket", "amount": "45000", "currency": "NPR"},
        {"kind": "medical", "amount": "5000", "currency": "NPR", "receipt": True},
    ],
}


def mrc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mrc_desktop.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_json_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "check.json"
    path.write_text(json.dumps(EXAMPLE), "utf-8")
    result = mrc("fees", "check", str(path), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [i["verdict"] for i in out["items"]] == ["not_lawful", "not_lawful", "lawful"]
    assert out["total_worker"] == "200000.00" and out["worker_currency"] == "NPR"
    assert {f["code"] for f in out["flags"]} >= {"flag_no_receipt", "flag_reclaim"}


def test_text_explanation(tmp_path: Path) -> None:
    path = tmp_path / "check.json"
    path.write_text(json.dumps(EXAMPLE), "utf-8")
    text = mrc("fees", "check", str(path)).stdout
    assert "Not lawful" in text and "10,000 NPR" in text


def test_bad_files_get_a_clear_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", "utf-8")
    result = mrc("fees", "check", str(broken))
    assert result.returncode == 2 and "not valid JSON" in result.stderr
    floats = tmp_path / "floats.json"
    floats.write_text(json.dumps({**EXAMPLE, "wage": {"amount": 1700.5, "currency": "MYR"}}))
    result = mrc("fees", "check", str(floats))
    assert result.returncode == 2 and "wage.amount" in result.stderr
