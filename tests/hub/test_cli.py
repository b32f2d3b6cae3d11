"""The ``mrc-hub`` admin commands, on both storage backends."""

from __future__ import annotations

import json

import pytest
from nacl.signing import SigningKey

from mrc_desktop.hub.auth import verify_certificate, verify_key_b64
from mrc_desktop.hub.cli import main
from mrc_desktop.hub.storage import (
    GENESIS_HASH,
    DeskStatus,
    IncomingBatch,
    open_storage,
    utc_now,
)
from tests.hub.desks import FakeDesk


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def pending_desk(hub_url: str, label: str = "Front desk") -> tuple[FakeDesk, str]:
    desk = FakeDesk(label)
    store = open_storage(hub_url)
    try:
        code = store.enrol_desk(desk.id, desk.signing_key, None, label, utc_now()).code
    finally:
        store.close()
    return desk, code


def test_centre_add_prints_the_id_and_refuses_a_second_with_the_same_name(
    hub_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "centre", "add", "Centre North", "--db", hub_url)
    assert code == 0
    centre_id = out.strip()
    assert run(capsys, "centre", "list", "--db", hub_url)[1] == f"{centre_id}  Centre North\n"
    code, out, err = run(capsys, "centre", "add", "Centre North", "--db", hub_url)
    assert (code, out) == (1, "")
    assert "exists already" in err
    code, _, err = run(capsys, "centre", "add", "  ", "--db", hub_url)
    assert code == 2 and "NAME" in err


def test_desk_approve_issues_a_certificate_for_the_chosen_centre(
    hub_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    north = run(capsys, "centre", "add", "Centre North", "--db", hub_url)[1].strip()
    run(capsys, "centre", "add", "Centre South", "--db", hub_url)
    desk, enrolment_code = pending_desk(hub_url)

    code, _, err = run(capsys, "desk", "approve", enrolment_code, "--db", hub_url)
    assert code == 1 and "choose with --centre" in err
    code, _, err = run(capsys, "desk", "approve", "ZZZZ-ZZZZ", "--centre", north, "--db", hub_url)
    assert code == 1 and "no desk has the enrolment code" in err
    code, _, err = run(
        capsys, "desk", "approve", enrolment_code, "--centre", "Nowhere", "--db", hub_url
    )
    assert code == 1 and "Nowhere" in err

    code, out, _ = run(
        capsys, "desk", "approve", enrolment_code, "--centre", "Centre North", "--db", hub_url
    )
    assert code == 0
    assert f"approved desk {desk.id} (Front desk) into centre Centre North" in out
    store = open_storage(hub_url)
    try:
        approved = store.desk(desk.id)
        assert approved is not None and approved.certificate is not None
        hub_key = verify_key_b64(SigningKey(store.hub_key_seed()))
        claims = verify_certificate(approved.certificate, hub_key)
        assert (claims["centre_id"], claims["desk_signing_key"]) == (north, desk.signing_key)
    finally:
        store.close()
    code, _, err = run(
        capsys, "desk", "approve", enrolment_code, "--centre", north, "--db", hub_url
    )
    assert code == 1 and "not pending" in err


def test_desk_list_and_revoke(hub_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "centre", "add", "Centre North", "--db", hub_url)
    desk, enrolment_code = pending_desk(hub_url, "Intake")
    rows = json.loads(run(capsys, "desk", "list", "--json", "--db", hub_url)[1])
    assert [(r["id"], r["status"], r["code"], r["label"]) for r in rows] == [
        (desk.id, "pending", enrolment_code, "Intake")
    ]
    assert run(capsys, "desk", "approve", enrolment_code, "--db", hub_url)[0] == 0
    code, out, _ = run(capsys, "desk", "revoke", desk.id.upper(), "--db", hub_url)
    assert code == 0 and f"revoked desk {desk.id}" in out
    line = run(capsys, "desk", "list", "--db", hub_url)[1]
    assert desk.id in line and "revoked" in line and "Centre North" in line
    code, _, err = run(capsys, "desk", "revoke", FakeDesk().id, "--db", hub_url)
    assert code == 1 and "no desk with id" in err


def test_alerts_exit_1_when_a_slot_was_offered_other_bytes(
    hub_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    centre = run(capsys, "centre", "add", "Centre North", "--db", hub_url)[1].strip()
    assert run(capsys, "alerts", "--db", hub_url)[:2] == (0, "no alerts\n")
    desk, enrolment_code = pending_desk(hub_url)
    run(capsys, "desk", "approve", enrolment_code, "--db", hub_url)
    store = open_storage(hub_url)
    try:
        for data in (b"first", b"second"):
            store.put_batch(centre, IncomingBatch(desk.id, 1, GENESIS_HASH, data), utc_now())
        assert store.desk(desk.id).status is DeskStatus.APPROVED  # type: ignore[union-attr]
    finally:
        store.close()
    code, out, _ = run(capsys, "alerts", "--db", hub_url)
    assert code == 1
    assert f"batch_conflict  desk {desk.id} batch 1" in out


def test_an_unreachable_database_is_a_clear_error_without_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "postgresql://hub:s3cret@127.0.0.1:1/hub?connect_timeout=2"
    code, _, err = run(capsys, "centre", "list", "--db", url)
    assert code == 2
    assert "cannot reach postgresql://hub:***@127.0.0.1:1/hub" in err
    assert "s3cret" not in err


def test_the_default_database_lives_in_the_data_folder(
    mrc_home: object, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "centre", "add", "Centre North")
    assert code == 0
    from mrc_desktop.storage.paths import app_paths

    assert (app_paths().data / "hub" / "hub.db").exists()
    assert run(capsys, "centre", "list")[1].startswith(out.strip())
