"""``mrc-hub serve`` as a real program on a loopback port: enrol → approve → put → feed.

Batches are real: signed by the writing desk, sealed to the hub key the enrolment
answer names, and read back by the other desk with its own key.

Runs once per storage backend; the TLS variant checks the printed fingerprint
against the certificate the server really presents, and that a desk pinned to
another certificate is refused.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from mrc_desktop.hub.auth import unb64
from mrc_desktop.hub.certs import fingerprint_of_der, make_self_signed, pinned_context
from mrc_desktop.hub.cli import main as hub_cli
from mrc_desktop.sync.batches import open_batch
from mrc_desktop.sync.keys import Peers, PublicIdentity
from tests.hub.batches import Outbox, Replica
from tests.hub.desks import FakeDesk

pytestmark = pytest.mark.slow
START_TIMEOUT_S = 60
# uvicorn says "Application startup complete" before it binds the port; this comes after.
READY = "Uvicorn running on"


@dataclass
class RunningHub:
    base_url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None

    def printed(self) -> str:
        return "".join(self.output)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_hub(hub_url: str, *extra: str, scheme: str = "http") -> Iterator[RunningHub]:
    """``mrc-hub serve`` on a free loopback port (another if that one was taken meanwhile)."""
    for attempt in range(3):
        hub = start_hub(hub_url, extra, scheme)
        if READY in hub.printed():
            break
        stop_hub(hub)
        if "address already in use" not in hub.printed() or attempt == 2:
            pytest.fail(f"mrc-hub serve did not start:\n{hub.printed()}")
    try:
        yield hub
    finally:
        stop_hub(hub)


def start_hub(hub_url: str, extra: tuple[str, ...], scheme: str) -> RunningHub:
    port = free_port()
    command = [sys.executable, "-m", "mrc_desktop.hub.cli", "serve", "--db", hub_url]
    process = subprocess.Popen(
        [*command, "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=os.environ.copy(),
    )
    hub = RunningHub(f"{scheme}://127.0.0.1:{port}", process)
    assert process.stdout is not None
    stdout = process.stdout
    hub.drain = threading.Thread(target=lambda: hub.output.extend(iter(stdout.readline, "")))
    hub.drain.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while READY not in hub.printed():
        if process.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return hub


def stop_hub(hub: RunningHub) -> None:
    hub.process.terminate()
    try:
        hub.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        hub.process.kill()
        hub.process.wait()
    if hub.drain is not None:
        hub.drain.join(timeout=5)


def test_enrol_approve_put_and_feed_over_http(
    hub_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hub_cli(["centre", "add", "Centre North", "--db", hub_url]) == 0
    assert hub_cli(["centre", "add", "Centre South", "--db", hub_url]) == 0
    capsys.readouterr()
    writer, reader, stranger = FakeDesk("writer"), FakeDesk("reader"), FakeDesk("south")
    with running_hub(hub_url) as hub, httpx.Client(base_url=hub.base_url, timeout=10) as http:
        assert http.get("/v1/health").json()["status"] == "ok"
        codes = {}
        for desk in (writer, reader, stranger):
            answer = http.post("/v1/enrol", json=desk.enrolment(), auth=desk.enrol_auth())
            assert answer.status_code == 201, answer.text
            codes[desk.id] = answer.json()["code"]
            hub_key = PublicIdentity(unb64(answer.json()["hub_key"], 32))
        assert http.get("/v1/feed", auth=reader.auth()).status_code == 403  # not yet approved

        for desk, centre in ((writer, "Centre North"), (reader, "Centre North")):
            assert (
                hub_cli(["desk", "approve", codes[desk.id], "--centre", centre, "--db", hub_url])
                == 0
            )
        assert (
            hub_cli(
                ["desk", "approve", codes[stranger.id], "--centre", "Centre South", "--db", hub_url]
            )
            == 0
        )

        outbox, replica = Outbox(writer, hub_key), Replica()
        batches = {n: outbox.sign(replica.new_case()[1]) for n in (1, 2, 3)}
        for n, signed in batches.items():
            response = http.put(
                f"/v1/batches/{writer.id}/{n}", content=outbox.seal(signed), auth=writer.auth()
            )
            assert response.status_code == 201, response.text
        resealed = outbox.seal(batches[2])
        retry = http.put(f"/v1/batches/{writer.id}/2", content=resealed, auth=writer.auth())
        assert (retry.status_code, retry.json()["status"]) == (200, "duplicate")
        other = Outbox(writer, hub_key, seq=1, last=batches[1].this_hash)
        tampered = other.next(replica.new_case()[1])
        clash = http.put(f"/v1/batches/{writer.id}/2", content=tampered, auth=writer.auth())
        assert clash.status_code == 409

        page = http.get("/v1/feed", params={"cursor": 0, "limit": 2}, auth=reader.auth()).json()
        rest = http.get(
            "/v1/feed", params={"cursor": page["next_cursor"]}, auth=reader.auth()
        ).json()
        at_reader = Peers({writer.id: writer.identity.public}, relays={"hub": hub_key})
        got = {
            b["seq"]: open_batch(reader.identity, at_reader, base64.b64decode(b["data"])).signed
            for b in page["batches"] + rest["batches"]
        }
        assert got == {n: signed.raw for n, signed in batches.items()}
        assert http.get("/v1/feed", auth=stranger.auth()).json()["batches"] == []

        assert hub_cli(["desk", "revoke", reader.id, "--db", hub_url]) == 0
        assert http.get("/v1/feed", auth=reader.auth()).status_code == 403
    assert hub_cli(["alerts", "--db", hub_url]) == 1
    assert "password" not in hub.printed().lower()


def test_tls_with_a_pinned_self_signed_certificate(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.db")
    tls_dir = tmp_path / "tls"
    with running_hub(db, "--tls", "--tls-dir", str(tls_dir), scheme="https") as hub:
        match = re.search(r"TLS certificate SHA-256 fingerprint: ([0-9A-F:]{95})", hub.printed())
        assert match, hub.printed()
        cert_pem = (tls_dir / "hub-cert.pem").read_bytes()
        with httpx.Client(base_url=hub.base_url, verify=pinned_context(cert_pem)) as http:
            response = http.get("/v1/health")
            assert response.json()["status"] == "ok"
            ssl_object = response.extensions["network_stream"].get_extra_info("ssl_object")
            assert fingerprint_of_der(ssl_object.getpeercert(True)) == match[1]
        impostor_pem, _ = make_self_signed(["127.0.0.1"])
        with (
            httpx.Client(base_url=hub.base_url, verify=pinned_context(impostor_pem)) as http,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            http.get("/v1/health")
        # Plain HTTP gets no answer: the server closes or resets the connection.
        with pytest.raises(httpx.TransportError):
            httpx.get(hub.base_url.replace("https", "http") + "/v1/health", timeout=5)
    assert oct((tls_dir / "hub-key.pem").stat().st_mode & 0o777) == "0o600"


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        command = [sys.executable, "-m", "mrc_desktop.hub.cli", "serve", "--port", port]
        result = subprocess.run(
            [*command, "--db", str(tmp_path / "hub.db")],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
    assert result.returncode == 2
    assert f"mrc-hub: could not serve on http://127.0.0.1:{port}" in result.stderr
    assert "address already in use" in result.stderr
