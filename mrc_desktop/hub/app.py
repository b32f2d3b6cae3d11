"""The hub's HTTP API (FastAPI): enrolment, batch upload, each centre's feed and peers.

Routes (the OpenAPI description is served at ``/openapi.json``):

- ``GET  /v1/health``                   no auth; 200 {"status": "ok"} or 503
- ``POST /v1/enrol``                    JSON {desk_id, signing_key, box_key?, label?}, signed with
                                        the key being enrolled; 201 new / 200 known →
                                        {desk_id, code, status, hub_key, centre_id, certificate}
- ``PUT  /v1/batches/{origin}/{seq}``   a signed batch sealed to the hub (application/octet-
                                        stream, ≤ 256 KB), opened and checked
                                        (:mod:`mrc_desktop.hub.relay`); 201 stored, 200 the same
                                        batch again (whatever its seal), 400 not a batch this
                                        desk sealed and signed for this slot, 409 another batch
                                        in the slot (an alert is recorded) or a gap or fork in
                                        the origin's chain, 422 a change refused (timestamp
                                        over 24 h ahead, a case without consent to sync),
                                        413 too large, 403 not your origin, or a
                                        case of another centre (the whole batch)
- ``GET  /v1/feed?cursor=N&limit=M[&have=ORIGIN:SEQ…]``
                                        the caller's centre's batches with hub_seq > N, other
                                        desks' only, less those ``have`` says it holds:
                                        {"batches": [{origin, seq, hub_seq, sha256,
                                        received_at, data (base64)}], "next_cursor", "more"};
                                        data is the stored signed batch sealed by the hub to
                                        the caller, sha256 its this_hash
- ``GET  /v1/peers``                    the certificates of the caller's centre's approved
                                        desks and the ids of its revoked ones
- ``GET  /v1/content/latest``           the newest content pack {version, published_at,
                                        files, size, sha256}; 404 when none is published
- ``GET  /v1/content/{version}``        that pack's bytes (application/octet-stream, signed
                                        by the hub: desks check it, see sync/content_pack.py)

Every route but health and enrolment needs a signed request (:mod:`mrc_desktop.hub.auth`):
a missing, unknown or badly signed request, or one more than five minutes off the
hub's clock, gets 401; a desk that is pending or revoked gets 403. Nothing else is
said to either. A desk sees only its own centre's feed and uploads only as itself.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations at
# run time, and they name a dependency (``authenticated``) local to create_app.
import base64
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from mrc_desktop import __version__
from mrc_desktop.hub.auth import (
    HEADER_DESK,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    MAX_CLOCK_SKEW_S,
    KeyFormatError,
    b64,
    clock_skew,
    signature_valid,
    unb64,
)
from mrc_desktop.hub.relay import HubRelay
from mrc_desktop.hub.storage import (
    BATCH_MAX_BYTES,
    SEQ_MAX,
    Desk,
    DeskConflictError,
    DeskStatus,
    FeedItem,
    HubStorage,
    PutOutcome,
    is_desk_id,
    utc_now,
)
from mrc_desktop.sync.hub_protocol import FEED_MAX_HAVE
from mrc_desktop.sync.keys import Identity

FEED_DEFAULT_LIMIT = 100
FEED_MAX_LIMIT = 500
# A feed page stops once it holds this many batch bytes (always at least one batch).
FEED_MAX_BYTES = 8 * 1024 * 1024
LABEL_MAX = 100

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 before any route sees them.

    The body is read here (at most ``limit`` bytes are held) and handed on whole, so
    routes can both parse it and hash it for the signature check.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._too_large(send)
            return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body", False))
            if len(body) > self.limit:
                await self._too_large(send)
                return
        handed_on = False

        async def replay() -> Message:
            nonlocal handed_on
            if not handed_on:
                handed_on = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"request body is larger than {self.limit} bytes"}, status_code=413
        )
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


# --- request and response bodies ------------------------------------------------------------


class EnrolRequest(BaseModel):
    desk_id: str = Field(description="the desk's own UUID")
    signing_key: str = Field(description="base64 Ed25519 public key (32 bytes)")
    box_key: str | None = Field(None, description="base64 X25519 public key (32 bytes)")
    label: str = Field("", max_length=LABEL_MAX, description="a name for the desk, for admins")

    @field_validator("desk_id")
    @classmethod
    def _desk_id(cls, value: str) -> str:
        if not is_desk_id(value):
            raise ValueError("desk_id must be a lower-case hyphenated UUID")
        return value

    @field_validator("signing_key", "box_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                unb64(value, 32, "key")
            except KeyFormatError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("label")
    @classmethod
    def _label(cls, value: str) -> str:
        if any(not ch.isprintable() for ch in value):
            raise ValueError("label may not contain control characters")
        return value.strip()


class EnrolResponse(BaseModel):
    desk_id: str
    code: str = Field(description="show this at the desk; the hub admin approves with it")
    status: DeskStatus
    hub_key: str = Field(description="base64 Ed25519 key the hub signs certificates with")
    centre_id: str | None
    certificate: str | None = Field(description="hub-signed JSON, once approved")


class PutResponse(BaseModel):
    origin: str
    seq: int
    hub_seq: int
    sha256: str = Field(description="this_hash of the stored signed batch (hex SHA-256)")
    status: PutOutcome


class FeedBatch(BaseModel):
    origin: str
    seq: int
    hub_seq: int
    sha256: str = Field(description="this_hash of the signed batch inside (hex SHA-256)")
    received_at: str
    data: str = Field(description="the signed batch sealed by the hub to the caller, base64")


class FeedResponse(BaseModel):
    batches: list[FeedBatch]
    next_cursor: int = Field(description="pass as cursor to continue after this page")
    more: bool = Field(description="true when the hub has more batches after next_cursor")


class PeerDesk(BaseModel):
    desk_id: str
    certificate: str = Field(description="hub-signed JSON, as issued at approval")


class PeersResponse(BaseModel):
    hub_key: str = Field(description="base64 Ed25519 key: signs certificates, seals the feed")
    centre_id: str
    desks: list[PeerDesk] = Field(description="the centre's approved desks, the caller included")
    revoked: list[str] = Field(description="ids of the centre's revoked desks")
    revoked_desks: list[PeerDesk] = Field(
        default_factory=list,
        description="the revoked desks' certificates: their batches the hub holds were all"
        " received while they were approved, and desks accept those",
    )


class ContentLatest(BaseModel):
    version: int = Field(description="the pack's version; desks install only newer ones")
    published_at: str = Field(description="UTC, YYYY-MM-DDTHH:MM:SSZ")
    files: int
    size: int = Field(description="bytes of the pack file")
    sha256: str = Field(description="hex SHA-256 of the pack file")


class Problem(BaseModel):
    detail: str


class ValidationProblem(BaseModel):
    """FastAPI's answer to a request that does not fit the route (path, query or body)."""

    detail: list[dict[str, Any]]


@dataclass(frozen=True)
class Caller:
    desk: Desk
    centre_id: str
    body: bytes


def _held_batches(have: list[str]) -> dict[str, int]:
    """``have`` values (ORIGIN:SEQ) as origin → seq; 422 naming the first bad one."""
    if len(have) > FEED_MAX_HAVE:
        raise _refuse(422, f"have: at most {FEED_MAX_HAVE} origins, not {len(have)}")
    held: dict[str, int] = {}
    for number, value in enumerate(have, 1):
        origin, _colon, seq = value.partition(":")
        if not is_desk_id(origin) or not seq.isascii() or not seq.isdigit():
            raise _refuse(422, f"have #{number}: {value[:80]!r} is not ORIGIN:SEQ")
        if not 0 < int(seq) <= SEQ_MAX:
            raise _refuse(422, f"have #{number}: seq {seq[:20]} is out of range")
        held[origin] = max(held.get(origin, 0), int(seq))
    return held


def _refuse(status: int, detail: str) -> HTTPException:
    headers = {"WWW-Authenticate": "MRC-Signature"} if status == 401 else None
    return HTTPException(status_code=status, detail=detail, headers=headers)


def create_app(storage: HubStorage, clock: Callable[[], float] = time.time) -> FastAPI:
    """The hub API over ``storage``; the hub's identity (its seed) is made on first use."""
    relay = HubRelay(Identity(storage.hub_key_seed()))
    hub_key_text = b64(relay.public.verify_key)
    app = FastAPI(
        title="MRC Desk hub",
        version=__version__,
        summary="Stores and forwards MRC Desk sync batches for the desks of each centre.",
    )
    app.state.storage = storage
    app.add_middleware(BodyLimit, limit=BATCH_MAX_BYTES)

    def check_clock(timestamp: str) -> None:
        skew = clock_skew(timestamp, clock())
        if skew is None or abs(skew) > MAX_CLOCK_SKEW_S:
            raise _refuse(401, "request timestamp is more than 5 minutes from the hub's clock")

    async def authenticated(
        request: Request,
        desk_id: Annotated[str | None, Header(alias=HEADER_DESK)] = None,
        timestamp: Annotated[str | None, Header(alias=HEADER_TIMESTAMP)] = None,
        signature: Annotated[str | None, Header(alias=HEADER_SIGNATURE)] = None,
    ) -> Caller:
        body = await request.body()
        if not desk_id or not timestamp or not signature:
            raise _refuse(401, "a signed request is required")
        desk = await run_in_threadpool(storage.desk, desk_id) if is_desk_id(desk_id) else None
        target = _target(request)
        if desk is None or not signature_valid(
            desk.signing_key, request.method, target, timestamp, signature, body
        ):
            raise _refuse(401, "not authenticated")
        check_clock(timestamp)
        if desk.status is DeskStatus.REVOKED:
            raise _refuse(403, "this desk has been revoked")
        if desk.status is DeskStatus.PENDING or desk.centre_id is None:
            raise _refuse(403, "this desk is waiting for approval")
        return Caller(desk, desk.centre_id, body)

    AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
        401: {"model": Problem, "description": "unsigned, unknown desk, bad signature or clock"},
        403: {"model": Problem, "description": "desk pending or revoked, or not its data"},
        413: {"model": Problem, "description": f"body over {BATCH_MAX_BYTES} bytes"},
    }

    @app.get("/v1/health", responses={503: {"model": Problem}})
    async def health() -> JSONResponse:
        try:
            await run_in_threadpool(storage.ping)
        except Exception:
            return JSONResponse({"detail": "the hub database does not answer"}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.post(
        "/v1/enrol",
        status_code=201,
        response_model=EnrolResponse,
        responses={
            200: {"model": EnrolResponse, "description": "already enrolled with this key"},
            400: {"model": Problem, "description": "the body is not JSON"},
            401: {"model": Problem, "description": "not signed with the enrolled key, or clock"},
            403: {"model": Problem, "description": "this desk has been revoked"},
            409: {"model": Problem, "description": "desk id or key enrolled with other keys"},
            413: {"model": Problem},
        },
    )
    async def enrol(
        enrolment: EnrolRequest,
        request: Request,
        timestamp: Annotated[str | None, Header(alias=HEADER_TIMESTAMP)] = None,
        signature: Annotated[str | None, Header(alias=HEADER_SIGNATURE)] = None,
    ) -> JSONResponse:
        body = await request.body()
        if not timestamp or not signature:
            raise _refuse(401, "the enrolment request must be signed with the desk's key")
        target = _target(request)
        if not signature_valid(
            enrolment.signing_key, request.method, target, timestamp, signature, body
        ):
            raise _refuse(401, "the signature does not match the signing key")
        check_clock(timestamp)
        before = await run_in_threadpool(storage.desk, enrolment.desk_id)
        try:
            desk = await run_in_threadpool(
                storage.enrol_desk,
                enrolment.desk_id,
                enrolment.signing_key,
                enrolment.box_key,
                enrolment.label,
                utc_now(),
            )
        except DeskConflictError as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        if desk.status is DeskStatus.REVOKED:
            raise _refuse(403, "this desk has been revoked")
        answer = EnrolResponse(
            desk_id=desk.id,
            code=desk.code,
            status=desk.status,
            hub_key=hub_key_text,
            centre_id=desk.centre_id,
            certificate=desk.certificate,
        )
        return JSONResponse(answer.model_dump(mode="json"), status_code=200 if before else 201)

    @app.put(
        "/v1/batches/{origin}/{seq}",
        status_code=201,
        response_model=PutResponse,
        responses={
            200: {"model": PutResponse, "description": "this batch was stored before"},
            400: {"model": Problem, "description": "empty, or not a batch of this desk and slot"},
            409: {"model": Problem, "description": "another batch in this slot, a gap or a fork"},
            422: {
                "model": Problem | ValidationProblem,
                "description": "a change refused (clock, consent, format), or a bad path",
            },
            **AUTH_ERRORS,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"},
                    }
                },
            }
        },
    )
    async def put_batch(
        origin: Annotated[str, Path(description="the uploading desk's own id")],
        seq: Annotated[int, Path(ge=1, le=SEQ_MAX, description="the origin's batch number")],
        caller: Annotated[Caller, Depends(authenticated)],
    ) -> JSONResponse:
        if origin != caller.desk.id:
            raise _refuse(403, "a desk may only upload its own batches")
        # The same function takes the batches of a USB bundle (hub/bundles.py).
        received = await run_in_threadpool(
            relay.receive, storage, caller.desk, origin, seq, caller.body, int(clock() * 1000)
        )
        if not received.accepted or received.result is None:
            raise HTTPException(status_code=received.status, detail=received.detail)
        result = received.result
        answer = PutResponse(
            origin=origin,
            seq=seq,
            hub_seq=result.hub_seq,
            sha256=result.sha256,
            status=result.outcome,
        )
        status = 201 if result.outcome is PutOutcome.STORED else 200
        return JSONResponse(answer.model_dump(mode="json"), status_code=status)

    @app.get(
        "/v1/feed",
        response_model=FeedResponse,
        responses={
            422: {
                "model": Problem | ValidationProblem,
                "description": "a bad cursor, limit or have",
            },
            **AUTH_ERRORS,
        },
    )
    async def feed(
        caller: Annotated[Caller, Depends(authenticated)],
        cursor: Annotated[int, Query(ge=0, le=SEQ_MAX, description="last hub_seq seen")] = 0,
        limit: Annotated[int, Query(ge=1, le=FEED_MAX_LIMIT)] = FEED_DEFAULT_LIMIT,
        have: Annotated[
            list[str] | None,
            Query(
                description="ORIGIN:SEQ, repeatable (at most"
                f" {FEED_MAX_HAVE}): the caller holds that origin's batches up to SEQ"
                " (by USB, say); they are left out of the feed"
            ),
        ] = None,
    ) -> FeedResponse:
        held = _held_batches(have or [])
        # Read first: every batch up to it is visible to the feed query below.
        end = await run_in_threadpool(storage.last_hub_seq, caller.centre_id)
        # One more than asked for tells whether there is more.
        items = await run_in_threadpool(
            storage.feed, caller.centre_id, cursor, limit + 1, caller.desk.id, held
        )
        page: list[FeedItem] = []
        size = 0
        for item in items[:limit]:
            if page and size + len(item.data) > FEED_MAX_BYTES:
                break
            size += len(item.data)
            page.append(item)
        sealed = await run_in_threadpool(
            lambda: [relay.reseal_for(caller.desk, item.data) for item in page]
        )
        batches = [
            FeedBatch(
                origin=item.origin,
                seq=item.seq,
                hub_seq=item.hub_seq,
                sha256=item.sha256,
                received_at=item.received_at,
                data=base64.b64encode(data).decode("ascii"),
            )
            for item, data in zip(page, sealed, strict=True)
        ]
        more = len(page) < len(items)
        last = page[-1].hub_seq if page else cursor
        # Without more, everything up to ``end`` was read: what was left out the caller
        # holds (or made), so it may move past it.
        return FeedResponse(
            batches=batches, next_cursor=last if more else max(last, end), more=more
        )

    @app.get("/v1/peers", response_model=PeersResponse, responses=AUTH_ERRORS)
    async def peers(caller: Annotated[Caller, Depends(authenticated)]) -> PeersResponse:
        # The same list travels in return bundles (hub/bundles.py).
        listed = await run_in_threadpool(relay.centre_peers, storage, caller.centre_id)
        return PeersResponse.model_validate(listed)

    @app.get(
        "/v1/content/latest",
        response_model=ContentLatest,
        responses={404: {"model": Problem, "description": "no pack published"}, **AUTH_ERRORS},
    )
    async def content_latest(caller: Annotated[Caller, Depends(authenticated)]) -> JSONResponse:
        info = await run_in_threadpool(storage.latest_content_pack)
        if info is None:
            return JSONResponse({"detail": "no content pack has been published"}, 404)
        answer = ContentLatest(
            version=info.version,
            published_at=info.published_at,
            files=info.files,
            size=info.size,
            sha256=info.sha256,
        )
        return JSONResponse(answer.model_dump(mode="json"))

    @app.get(
        "/v1/content/{version}",
        response_class=Response,
        responses={
            200: {
                "description": "the signed content pack (.mrcpack)",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            },
            404: {"model": Problem, "description": "no pack with this version"},
            422: {"model": ValidationProblem, "description": "version is not a number"},
            **AUTH_ERRORS,
        },
    )
    async def content_pack(
        version: Annotated[int, Path(ge=1, le=SEQ_MAX, description="a published version")],
        caller: Annotated[Caller, Depends(authenticated)],
    ) -> Response:
        data = await run_in_threadpool(storage.content_pack_data, version)
        if data is None:
            return JSONResponse({"detail": f"no content pack has version {version}"}, 404)
        return Response(data, media_type="application/octet-stream")

    return app


def _target(request: Request) -> str:
    """The request target as the client sent and signed it: raw path, then ?query."""
    raw = request.scope.get("raw_path") or request.url.path.encode("ascii")
    query = request.scope.get("query_string", b"")
    target = bytes(raw) + (b"?" + bytes(query) if query else b"")
    return target.decode("latin-1")
