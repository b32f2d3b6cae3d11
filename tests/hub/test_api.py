"""The hub's HTTP API through FastAPI's TestClient, on both storage backends."""

from __future__ import annotations

import base64
import secrets
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from nacl.signing import SigningKey

from mrc_desktop.hub.app import create_app
from mrc_desktop.hub.auth import (
    HEADER_DESK,
    HEADER_SIGNATURE,
    CertificateError,
    DeskAuth,
    signed_headers,
    verify_certificate,
)
from mrc_desktop.hub.cli import desk_approve
from mrc_desktop.hub.storage import BATCH_MAX_BYTES, HubStorage
from mrc_desktop.sync.keys import Identity, PublicIdentity
from tests.hub.batches import Outbox, Replica
from tests.hub.desks import FakeDesk

with warnings.catch_warnings():
    # Starlette would rather drive its test client with httpx2; the hub and its desks use httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


@pytest.fixture
def client(storage: HubStorage) -> Iterator[TestClient]:
    with TestClient(create_app(storage)) as c:
        yield c


def enrol(client: TestClient, desk: FakeDesk) -> dict[str, str]:
    response = client.post("/v1/enrol", json=desk.enrolment(), auth=desk.enrol_auth())
    assert response.status_code in (200, 201), response.text
    answer: dict[str, str] = response.json()
    return answer


def enrolled(client: TestClient, storage: HubStorage, centre: str, label: str) -> FakeDesk:
    """A desk that enrolled over the API and was approved the way the admin does it."""
    desk = FakeDesk(label)
    code = enrol(client, desk)["code"]
    assert desk_approve(storage, code, centre) == 0
    return desk


@pytest.fixture
def centres(storage: HubStorage) -> tuple[str, str]:
    return storage.add_centre("Centre A").id, storage.add_centre("Centre B").id


@pytest.fixture
def hub_key(storage: HubStorage) -> PublicIdentity:
    return Identity(storage.hub_key_seed()).public


def one_case(replica: Replica | None = None) -> list[dict[str, object]]:
    """The changes of one new case whose consent allows sync."""
    return (replica or Replica()).new_case()[1]


def put(client: TestClient, desk: FakeDesk, seq: int, data: bytes, origin: str | None = None):  # type: ignore[no-untyped-def]
    return client.put(
        f"/v1/batches/{origin or desk.id}/{seq}",
        content=data,
        headers={"Content-Type": "application/octet-stream"},
        auth=desk.auth(),
    )


def feed(client: TestClient, desk: FakeDesk, cursor: int = 0, limit: int = 100):  # type: ignore[no-untyped-def]
    return client.get("/v1/feed", params={"cursor": cursor, "limit": limit}, auth=desk.auth())


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/v1/health").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert {"/v1/health", "/v1/enrol", "/v1/batches/{origin}/{seq}", "/v1/feed"} <= set(
        spec["paths"]
    )
    put_op = spec["paths"]["/v1/batches/{origin}/{seq}"]["put"]
    assert "application/octet-stream" in put_op["requestBody"]["content"]
    assert {"200", "201", "409", "413", "401", "403"} <= set(put_op["responses"])


def test_enrolment_shows_a_code_then_a_certificate_after_approval(
    client: TestClient, storage: HubStorage, centres: tuple[str, str]
) -> None:
    desk = FakeDesk("Intake desk")
    response = client.post("/v1/enrol", json=desk.enrolment(), auth=desk.enrol_auth())
    assert response.status_code == 201
    first = response.json()
    assert (first["status"], first["desk_id"], first["certificate"]) == ("pending", desk.id, None)
    retry = client.post("/v1/enrol", json=desk.enrolment(), auth=desk.enrol_auth())
    assert (retry.status_code, retry.json()["code"]) == (200, first["code"])

    # The admin types the code loosely.
    assert desk_approve(storage, first["code"].lower().replace("-", " "), "Centre A") == 0
    done = enrol(client, desk)
    assert (done["status"], done["centre_id"]) == ("approved", centres[0])
    claims = verify_certificate(done["certificate"], done["hub_key"])
    assert claims["desk_id"] == desk.id
    assert claims["centre_id"] == centres[0]
    assert claims["desk_signing_key"] == desk.signing_key
    other_hub = base64.b64encode(bytes(SigningKey.generate().verify_key)).decode()
    with pytest.raises(CertificateError, match="not signed by this hub"):
        verify_certificate(done["certificate"], other_hub)


def test_enrolment_must_be_signed_by_the_key_it_enrols(client: TestClient) -> None:
    desk, thief = FakeDesk(), FakeDesk()
    unsigned = client.post("/v1/enrol", json=desk.enrolment())
    assert unsigned.status_code == 401
    stolen = client.post("/v1/enrol", json=desk.enrolment(), auth=thief.enrol_auth())
    assert stolen.status_code == 401
    late = FakeDesk(skew_s=-600)
    assert (
        client.post("/v1/enrol", json=late.enrolment(), auth=late.enrol_auth()).status_code == 401
    )
    taken = {**thief.enrolment(), "desk_id": desk.id}
    enrol(client, desk)
    clash = client.post("/v1/enrol", json=taken, auth=thief.enrol_auth())
    assert clash.status_code == 409
    assert "another key" in clash.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"signing_key": "not base64!"}, "signing_key"),
        ({"signing_key": base64.b64encode(b"short").decode()}, "signing_key"),
        ({"box_key": base64.b64encode(b"x" * 33).decode()}, "box_key"),
        ({"desk_id": "desk-1"}, "desk_id"),
        ({"label": "x" * 101}, "label"),
        ({"label": "tab\tbed"}, "label"),
    ],
)
def test_bad_enrolments_name_the_field(
    client: TestClient, change: dict[str, str], field: str
) -> None:
    desk = FakeDesk()
    response = client.post("/v1/enrol", json={**desk.enrolment(), **change}, auth=desk.enrol_auth())
    assert response.status_code == 422
    assert field in [part for error in response.json()["detail"] for part in error["loc"]]


def test_unknown_pending_and_revoked_desks_get_nothing(
    client: TestClient, storage: HubStorage, centres: tuple[str, str], hub_key: PublicIdentity
) -> None:
    writer = enrolled(client, storage, centres[0], "writer")
    assert put(client, writer, 1, Outbox(writer, hub_key).next(one_case())).status_code == 201

    stranger = FakeDesk()
    for response in (feed(client, stranger), put(client, stranger, 1, b"x")):
        assert response.status_code == 401
        assert response.json() == {"detail": "not authenticated"}

    pending = FakeDesk()
    enrol(client, pending)
    for response in (feed(client, pending), put(client, pending, 1, b"x")):
        assert response.status_code == 403
        assert response.json() == {"detail": "this desk is waiting for approval"}
    storage.revoke_desk(pending.id, "2026-01-01T00:00:00.000Z")  # refused before approval
    assert feed(client, pending).json() == {"detail": "this desk has been revoked"}

    reader = enrolled(client, storage, centres[0], "reader")
    assert len(feed(client, reader).json()["batches"]) == 1
    storage.revoke_desk(reader.id, "2026-01-01T00:00:00.000Z")
    for response in (feed(client, reader), put(client, reader, 1, b"x")):
        assert response.status_code == 403
        assert response.json() == {"detail": "this desk has been revoked"}
    again = client.post("/v1/enrol", json=reader.enrolment(), auth=reader.enrol_auth())
    assert again.status_code == 403
    assert "certificate" not in again.text


def test_signatures_cover_method_path_query_body_and_time(
    client: TestClient, storage: HubStorage, centres: tuple[str, str]
) -> None:
    desk = enrolled(client, storage, centres[0], "desk")
    headers = signed_headers(desk.key, desk.id, "GET", "/v1/feed?cursor=0", b"")
    assert client.get("/v1/feed?cursor=0", headers=headers).status_code == 200
    assert client.get("/v1/feed?cursor=5", headers=headers).status_code == 401
    assert client.get("/v1/feed?cursor=0&limit=1", headers=headers).status_code == 401

    signed = signed_headers(desk.key, desk.id, "PUT", f"/v1/batches/{desk.id}/1", b"real")
    swapped = client.put(f"/v1/batches/{desk.id}/1", content=b"forged", headers=signed)
    assert swapped.status_code == 401
    assert (
        client.put(f"/v1/batches/{desk.id}/2", content=b"real", headers=signed).status_code == 401
    )
    garbled = {**signed, HEADER_SIGNATURE: "%%%"}
    assert (
        client.put(f"/v1/batches/{desk.id}/1", content=b"real", headers=garbled).status_code == 401
    )
    posed = {**signed, HEADER_DESK: FakeDesk().id}
    assert client.put(f"/v1/batches/{desk.id}/1", content=b"real", headers=posed).status_code == 401
    assert feed(client, desk).json()["batches"] == []  # nothing got through


@pytest.mark.parametrize(("skew_s", "status"), [(-240, 200), (240, 200), (-360, 401), (360, 401)])
def test_requests_must_be_within_five_minutes_of_the_hub_clock(
    client: TestClient, storage: HubStorage, centres: tuple[str, str], skew_s: int, status: int
) -> None:
    desk = enrolled(client, storage, centres[0], "desk")
    desk.skew_s = skew_s
    response = feed(client, desk)
    assert response.status_code == status
    if status == 401:
        assert "5 minutes" in response.json()["detail"]


def test_bodies_over_256_kb_are_refused_before_anything_is_stored(
    client: TestClient, storage: HubStorage, centres: tuple[str, str], hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, centres[0], "desk")
    outbox = Outbox(desk, hub_key)
    assert put(client, desk, 1, outbox.next(one_case())).status_code == 201
    # At the limit the body reaches the batch checks (and is no batch); one byte more does not.
    at_limit = put(client, desk, 2, b"\x01" * BATCH_MAX_BYTES)
    assert at_limit.status_code == 400
    assert "cannot be opened" in at_limit.json()["detail"]
    too_big = put(client, desk, 2, b"\x02" * (BATCH_MAX_BYTES + 1))
    assert too_big.status_code == 413
    assert str(BATCH_MAX_BYTES) in too_big.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the hub counts as it reads
        for _ in range(5):
            yield b"\x03" * 65536

    chunked = client.put(f"/v1/batches/{desk.id}/3", content=chunks())
    assert chunked.status_code == 413
    assert [i.seq for i in storage.feed(centres[0], 0, 10)] == [1]


def test_a_desk_uploads_only_as_itself_and_only_real_batches(
    client: TestClient, storage: HubStorage, centres: tuple[str, str], hub_key: PublicIdentity
) -> None:
    desk = enrolled(client, storage, centres[0], "desk")
    colleague = enrolled(client, storage, centres[0], "colleague")
    theirs = Outbox(colleague, hub_key).next(one_case())
    forged = put(client, desk, 1, theirs, origin=colleague.id)
    assert forged.status_code == 403
    assert put(client, desk, 1, b"pretending").status_code == 400
    assert put(client, desk, 1, b"").status_code == 400
    assert put(client, desk, 0, b"x").status_code == 422
    assert put(client, desk, 2**63, b"x").status_code == 422
    assert storage.feed(centres[0], 0, 10) == []


def test_the_feed_carries_a_centres_batches_to_its_other_desks_only(
    client: TestClient, storage: HubStorage, centres: tuple[str, str], hub_key: PublicIdentity
) -> None:
    one = enrolled(client, storage, centres[0], "one")
    two = enrolled(client, storage, centres[0], "two")
    elsewhere = enrolled(client, storage, centres[1], "elsewhere")
    outbox, replica = Outbox(one, hub_key), Replica()
    sent = {n: outbox.sign(one_case(replica)) for n in range(1, 6)}
    for n, signed in sent.items():
        assert put(client, one, n, outbox.seal(signed)).status_code == 201
    assert put(client, two, 1, Outbox(two, hub_key).next(one_case())).status_code == 201
    assert put(client, elsewhere, 1, Outbox(elsewhere, hub_key).next(one_case())).status_code == 201

    page = feed(client, two, limit=3).json()
    assert [(b["origin"], b["seq"]) for b in page["batches"]] == [(one.id, n) for n in (1, 2, 3)]
    assert page["more"] is True
    rest = feed(client, two, cursor=page["next_cursor"], limit=2).json()
    assert [b["seq"] for b in rest["batches"]] == [4, 5]
    assert rest["more"] is False  # exactly a full page, and nothing after it
    items = page["batches"] + rest["batches"]
    assert [b["sha256"] for b in items] == [sent[n].this_hash.hex() for n in range(1, 6)]
    done = feed(client, two, cursor=rest["next_cursor"]).json()
    assert (done["batches"], done["next_cursor"]) == ([], rest["next_cursor"])

    [from_two] = feed(client, one).json()["batches"]
    assert (from_two["origin"], from_two["seq"]) == (two.id, 1)
    theirs = feed(client, elsewhere).json()["batches"]
    assert theirs == []
    assert feed(client, two, cursor=-1).status_code == 422
    assert feed(client, two, limit=0).status_code == 422


def test_the_feed_leaves_out_the_batches_a_desk_says_it_holds(
    client: TestClient, storage: HubStorage, centres: tuple[str, str], hub_key: PublicIdentity
) -> None:
    """A desk that got batches by USB says so (``have=ORIGIN:SEQ``): they are not sent
    again, and the cursor it gets moves past them."""
    one = enrolled(client, storage, centres[0], "one")
    two = enrolled(client, storage, centres[0], "two")
    three = enrolled(client, storage, centres[0], "three")
    outbox, replica = Outbox(one, hub_key), Replica()
    for n in range(1, 5):
        assert put(client, one, n, outbox.seal(outbox.sign(one_case(replica)))).status_code == 201
    assert put(client, two, 1, Outbox(two, hub_key).next(one_case())).status_code == 201

    def ask(*have: str, cursor: int = 0) -> dict[str, Any]:
        params = [("cursor", str(cursor)), *(("have", h) for h in have)]
        response = client.get("/v1/feed", params=params, auth=three.auth())
        assert response.status_code == 200, response.text
        return dict(response.json())

    page = ask(f"{one.id}:3")
    assert [(b["origin"], b["seq"]) for b in page["batches"]] == [(one.id, 4), (two.id, 1)]
    assert (page["next_cursor"], page["more"]) == (5, False)
    # Holding everything: nothing is sent and the cursor still reaches the centre's newest.
    nothing = ask(f"{one.id}:4", f"{two.id}:1")
    assert (nothing["batches"], nothing["next_cursor"], nothing["more"]) == ([], 5, False)
    # The same origin twice: the larger seq counts; an origin the hub does not know: ignored.
    stranger = "01a20000-0000-7000-8000-000000000000"
    again = ask(f"{one.id}:1", f"{one.id}:4", f"{stranger}:9")
    assert [(b["origin"], b["seq"]) for b in again["batches"]] == [(two.id, 1)]
    # Paging and ``have`` together: the page after the cursor, less what is held.
    assert [b["seq"] for b in ask(f"{one.id}:2", cursor=1)["batches"]] == [3, 4, 1]

    bad = {
        "nonsense": "is not ORIGIN:SEQ",
        f"{one.id}": "is not ORIGIN:SEQ",
        f"{one.id}:": "is not ORIGIN:SEQ",
        f"{one.id}:-1": "is not ORIGIN:SEQ",
        f"{one.id}:0": "out of range",
        f"{one.id}:{2**63}": "out of range",
        f"{one.id.upper()}:1": "is not ORIGIN:SEQ",
    }
    for value, message in bad.items():
        response = client.get(
            "/v1/feed", params=[("have", f"{two.id}:1"), ("have", value)], auth=three.auth()
        )
        assert response.status_code == 422, value
        assert response.json()["detail"].startswith("have #2: ") and message in response.text
    many = [("have", f"{one.id}:1")] * 129
    response = client.get("/v1/feed", params=many, auth=three.auth())
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "have: at most 128 origins, not 129"},
    )


def test_client_auth_signs_what_httpx_sends(
    client: TestClient, storage: HubStorage, centres: tuple[str, str]
) -> None:
    """Query strings with characters that need escaping are signed as sent."""
    desk = enrolled(client, storage, centres[0], "desk")
    response = client.get("/v1/feed?cursor=0&note=caf%C3%A9%20x", auth=DeskAuth(desk.id, desk.key))
    assert response.status_code == 200


def test_a_feed_page_stops_at_its_byte_budget_and_continues_from_the_cursor(
    client: TestClient,
    storage: HubStorage,
    centres: tuple[str, str],
    hub_key: PublicIdentity,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mrc_desktop.hub.app as hub_app

    one = enrolled(client, storage, centres[0], "one")
    two = enrolled(client, storage, centres[0], "two")
    outbox, replica = Outbox(one, hub_key), Replica()
    small = [outbox.sign(one_case(replica)) for _ in range(3)]
    big = outbox.sign(replica.new_case(name=f"Invented Worker {secrets.token_hex(1000)}")[1])
    for signed in [*small, big]:
        assert put(client, one, signed.seq, outbox.seal(signed)).status_code == 201
    # Two small batches fit the budget, a third does not; the big one travels alone.
    monkeypatch.setattr(hub_app, "FEED_MAX_BYTES", len(small[0].raw) + len(small[1].raw))
    assert len(big.raw) > hub_app.FEED_MAX_BYTES
    pages, cursor, more = [], 0, True
    while more:
        page = feed(client, two, cursor=cursor).json()
        pages.append([b["seq"] for b in page["batches"]])
        cursor, more = page["next_cursor"], page["more"]
    assert pages == [[1, 2], [3], [4]]
