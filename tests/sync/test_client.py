"""The desk's hub client: retries with backoff, cancelling, re-sealing, the hub's clock, and
every way enrolment can fail, against the real hub app (FastAPI's TestClient, SQLite)."""

from __future__ import annotations

import base64
import email.utils
import json
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mrc_desktop.hub.app import create_app
from mrc_desktop.hub.certs import fingerprint_of_pem, make_self_signed
from mrc_desktop.hub.cli import desk_approve, desk_revoke
from mrc_desktop.hub.storage import HubStorage, open_storage
from mrc_desktop.storage.ids import uuid7
from mrc_desktop.sync.batches import open_batch
from mrc_desktop.sync.client import (
    Enrolment,
    HubClient,
    HubError,
    HubUnreachable,
    Progress,
    RetryPolicy,
    SyncCancelled,
    SyncReport,
    enrol,
    normalise_fingerprint,
    sync_with_hub,
)
from mrc_desktop.sync.keys import Identity, Peers
from mrc_desktop.sync.outbox import pending
from mrc_desktop.sync.state import (
    NotEnrolledError,
    ensure_identity,
    load_identity,
    load_state,
)
from tests.sync.desks import Desk, open_desk

with warnings.catch_warnings():
    # Starlette would rather drive its test client with httpx2; the hub and its desks use httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

HUB_URL = "http://hub.test"
GIVEN = {"sync": {"given": True, "on": "2026-11-23", "by": "sup-a"}}
NO_WAIT = RetryPolicy(attempts=5, base_delay_s=0.0)


@dataclass
class Hub:
    """The real hub app over a SQLite store, reached through an httpx transport whose faults
    a test chooses: ``fault(request, n)`` may raise before the hub sees the request
    ("before") or after it answered ("after": the answer is lost on the way back)."""

    storage: HubStorage
    client: TestClient
    centre: str
    requests: list[httpx.Request] = field(default_factory=list)
    fault: Callable[[httpx.Request, int], str | None] = lambda _request, _n: None
    date_offset_s: float | None = None  # send a Date header this far from the desk's clock
    rewrite: Callable[[httpx.Request, bytes], bytes] | None = None  # alter an answer's body

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = request.read()
        when = self.fault(request, len(self.requests))
        if when == "before":
            raise httpx.ConnectError("connection refused", request=request)
        answer = self.client.request(
            request.method,
            request.url.raw_path.decode("ascii"),
            content=body,
            headers=dict(request.headers),
        )
        if when == "after":
            raise httpx.ReadError("connection reset by peer", request=request)
        headers = {k: v for k, v in answer.headers.items() if k != "content-length"}
        if self.date_offset_s is not None:
            headers["date"] = email.utils.formatdate(time.time() + self.date_offset_s, usegmt=True)
        content = answer.content
        if self.rewrite is not None:
            content = self.rewrite(request, content)
        return httpx.Response(answer.status_code, headers=headers, content=content)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    @property
    def identity(self) -> Identity:
        return Identity(self.storage.hub_key_seed())


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    with make_hub(tmp_path / "hub.db") as running:
        yield running


@contextmanager
def make_hub(path: Path, clock: Callable[[], float] = time.time) -> Iterator[Hub]:
    storage = open_storage(str(path))
    try:
        centre = storage.add_centre("Centre North").id
        with TestClient(create_app(storage, clock=clock)) as client:
            yield Hub(storage, client, centre)
    finally:
        storage.close()


def enrolled_desk(folder: Path, name: str, hub: Hub) -> Desk:
    """A desk with a case store, enrolled at ``hub`` and approved the way the admin does it."""
    desk = open_desk(folder, name)
    desk_id = uuid7()
    first = enrol(desk.db, desk_id, HUB_URL, transport=hub.transport, retry=NO_WAIT)
    assert desk_approve(hub.storage, first.code, None) == 0
    done = enrol(desk.db, desk_id, HUB_URL, code=first.code, transport=hub.transport)
    assert (done.status, done.centre_id) == ("approved", hub.centre)
    return desk


def new_case(desk: Desk, name: str = "Invented Worker Dara") -> str:
    return desk.repo.create_case({"person_name": name, "consent": GIVEN})


def sync(desk: Desk, hub: Hub, **options: Any) -> SyncReport:
    options.setdefault("retry", NO_WAIT)
    return sync_with_hub(desk.db, transport=hub.transport, **options)


# --- retries, backoff, cancelling -----------------------------------------------------------


def client_for(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> HubClient:
    return HubClient(
        HUB_URL, Identity(bytes(32)), None, transport=httpx.MockTransport(handler), **options
    )


def test_retries_back_off_exponentially_with_jitter_then_succeed() -> None:
    events: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        events.append("request")
        if events.count("request") <= 3:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"status": "ok"})

    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        events.append(seconds)

    client = client_for(
        handler,
        retry=RetryPolicy(attempts=5, base_delay_s=1.0, max_delay_s=3.0),
        sleep=sleep,
        rng=lambda: 0.5,
    )
    client.health()
    waits, current = [], 0.0
    for event in events[1:]:
        if event == "request":
            waits.append(round(current, 6))
            current = 0.0
        else:
            current += float(event)  # type: ignore[arg-type]
    # Half of each cap is fixed, half random (here 0.5): caps 1, 2, 4 → 3 (the maximum).
    assert waits == [0.75, 1.5, 2.25]
    assert max(slept) <= 0.2  # short steps, so a cancel is noticed quickly


def test_what_retrying_cannot_fix_is_answered_at_once_and_the_rest_gives_up() -> None:
    calls = {"n": 0}

    def bad_request(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(400, json={"detail": "the batch is empty"})

    assert client_for(bad_request, retry=NO_WAIT).request("GET", "/x").status_code == 400
    assert calls["n"] == 1

    def unavailable(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        return httpx.Response(503, json={"detail": "the hub database does not answer"})

    calls["n"] = 0
    answer = client_for(unavailable, retry=RetryPolicy(attempts=3, base_delay_s=0))
    with pytest.raises(HubError, match="not healthy: the hub database does not answer"):
        answer.health()
    assert calls["n"] == 3

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(HubUnreachable, match=r"cannot reach the hub at http://hub.test \(4"):
        client_for(down, retry=RetryPolicy(attempts=4, base_delay_s=0)).health()


def test_a_feed_request_names_at_most_128_held_origins_the_furthest_along_first() -> None:
    asked: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, json={"batches": [], "next_cursor": 7, "more": False})

    have = {f"01a20000-0000-7000-8000-{n:012d}": n for n in range(131)}  # one with seq 0
    client_for(answer, retry=NO_WAIT).feed(7, 50, have)
    sent = asked[0].url.params.get_list("have")
    assert len(sent) == 128 and len(set(sent)) == 128
    assert {int(value.split(":")[1]) for value in sent} == set(range(3, 131))
    assert (asked[0].url.params["cursor"], asked[0].url.params["limit"]) == ("7", "50")
    client_for(answer, retry=NO_WAIT).feed(0, 50, {})
    assert "have" not in asked[1].url.params


def test_cancel_is_seen_during_the_wait_and_nothing_more_is_sent() -> None:
    sent: list[str] = []
    stop = {"now": False}

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        stop["now"] = True  # the user presses Cancel while the client waits to retry
        raise httpx.ConnectError("connection refused", request=request)

    client = client_for(
        handler,
        retry=RetryPolicy(attempts=5, base_delay_s=10.0),
        cancelled=lambda: stop["now"],
        sleep=lambda s: None,
    )
    with pytest.raises(SyncCancelled):
        client.health()
    assert sent == ["/v1/health"]


# --- against the real hub -------------------------------------------------------------------


def test_every_attempt_seals_the_same_signed_batch_again(tmp_path: Path, hub: Hub) -> None:
    desk = enrolled_desk(tmp_path, "a", hub)
    new_case(desk)
    puts = []

    def drop_first_two_uploads(request: httpx.Request, n: int) -> str | None:
        if request.method == "PUT":
            puts.append(request.content)
            return "before" if len(puts) <= 2 else None
        return None

    hub.fault = drop_first_two_uploads
    report = sync(desk, hub)
    assert report.ok and report.pushed_batches == 1
    assert len(puts) == 3 and len(set(puts)) == 3  # three seals …
    state = load_state(desk.db)
    peers = Peers(desks={str(state.desk_id): ensure_identity(desk.db)[0].public})
    signed = {open_batch(hub.identity, peers, body).signed for body in puts}
    assert len(signed) == 1  # … of one signed batch
    assert pending(desk.db, str(state.desk_id)) == []


def test_a_lost_answer_is_retried_and_the_hub_says_duplicate(tmp_path: Path, hub: Hub) -> None:
    desk = enrolled_desk(tmp_path, "a", hub)
    new_case(desk)
    hub.fault = lambda request, n: "after" if request.method == "PUT" and n < 20 else None
    report = sync(desk, hub)
    assert not report.ok
    state = load_state(desk.db)
    assert [b.seq for b in pending(desk.db, str(state.desk_id))] == [1]  # kept: no answer came
    assert state.last_error and "cannot reach the hub" in state.last_error
    hub.fault = lambda request, n: None
    progress: list[Progress] = []
    report = sync(desk, hub, progress=progress.append)
    assert report.ok and report.pushed_batches == 1
    assert Progress("push", 1, 1) in progress
    assert pending(desk.db, str(state.desk_id)) == []
    assert hub.storage.alerts() == []
    assert load_state(desk.db).last_error is None


def test_a_desk_clock_ten_minutes_behind_the_hub_is_warned_and_still_syncs(
    tmp_path: Path,
) -> None:
    with make_hub(tmp_path / "hub.db", clock=lambda: time.time() + 600) as hub:
        # Without the hub's Date header the desk cannot tell: the hub refuses its signature.
        with pytest.raises(HubError, match="more than 5 minutes from the hub's clock"):
            enrol(open_desk(tmp_path, "blind").db, uuid7(), HUB_URL, transport=hub.transport)
        hub.date_offset_s = 600  # the hub's Date header: signing follows the hub's clock
        desk = enrolled_desk(tmp_path, "a", hub)
        new_case(desk)
        report = sync(desk, hub)
        assert report.ok and report.pushed_batches == 1
        assert report.warnings == [
            "this desk's clock is 10 minutes behind the hub's: set the date and time"
        ]


def test_enrolment_failures_say_what_went_wrong_and_store_nothing_false(
    tmp_path: Path, hub: Hub
) -> None:
    desk, desk_id = open_desk(tmp_path, "a"), uuid7()

    def ask(code: str | None = None) -> Enrolment:
        return enrol(desk.db, desk_id, HUB_URL, code=code, transport=hub.transport, retry=NO_WAIT)

    hub.fault = lambda request, n: "before"
    with pytest.raises(HubUnreachable, match=r"cannot reach the hub at http://hub\.test"):
        ask()
    assert load_state(desk.db).hub_url is None
    identity = load_identity(desk.db)  # made once, kept whatever happens next
    hub.fault = lambda request, n: None

    first = ask()
    assert (first.status, first.identity_made) == ("pending", False)
    code: str = first.code
    with pytest.raises(HubError, match=f"does not know the code abcd efgh .* its code is {code}"):
        ask("abcd efgh")
    assert ask(code.lower()).status == "pending"
    with pytest.raises(NotEnrolledError, match=f"once the hub admin has approved code {code}"):
        sync(desk, hub)

    assert desk_approve(hub.storage, code, None) == 0

    def forge(request: httpx.Request, body: bytes) -> bytes:
        answer = json.loads(body)
        if answer.get("certificate"):
            cert = json.loads(answer["certificate"])
            cert["claims"]["centre_id"] = "another centre"
            answer["certificate"] = json.dumps(cert)
        return json.dumps(answer).encode()

    hub.rewrite = forge
    with pytest.raises(
        HubError, match="bad certificate from the hub: the certificate is not signed"
    ):
        ask(code)
    assert load_state(desk.db).certificate is None
    hub.rewrite = None
    done = ask(code)
    assert (done.status, done.identity_made) == ("approved", False)
    assert load_state(desk.db).centre_id == hub.centre

    assert sync(desk, hub).ok

    assert desk_revoke(hub.storage, desk_id) == 0
    report = sync(desk, hub)
    assert report.errors == ["the hub refused the list of desks (403): this desk has been revoked"]
    with pytest.raises(NotEnrolledError, match="has revoked this desk"):
        sync(desk, hub)
    with pytest.raises(HubError, match="revoked"):
        ask()
    assert load_identity(desk.db) == identity


def test_another_hub_at_the_same_address_is_refused(tmp_path: Path, hub: Hub) -> None:
    desk = enrolled_desk(tmp_path, "a", hub)
    with (
        make_hub(tmp_path / "impostor.db") as impostor,
        pytest.raises(HubError, match="another key than at enrolment"),
    ):
        enrol(desk.db, uuid7(), HUB_URL, transport=impostor.transport)
    assert load_state(desk.db).hub_key == base64.b64encode(hub.identity.public.verify_key).decode(
        "ascii"
    )


def test_a_tls_certificate_other_than_the_fingerprint_given_is_refused(tmp_path: Path) -> None:
    pem, _key = make_self_signed(["hub.test"])
    presented = fingerprint_of_pem(pem)
    desk = open_desk(tmp_path, "a")
    typed = "ab" * 32  # the admin read another hub's fingerprint
    with pytest.raises(HubError, match=f"presents a certificate with fingerprint {presented}"):
        enrol(
            desk.db,
            uuid7(),
            "https://hub.test:8443",
            fingerprint=typed,
            get_certificate=lambda url: pem.decode("ascii"),
        )
    assert load_state(desk.db).hub_url is None
    assert normalise_fingerprint(presented.replace(":", "").lower()) == presented
    with pytest.raises(HubError, match="not a SHA-256 fingerprint"):
        normalise_fingerprint("12:34")
