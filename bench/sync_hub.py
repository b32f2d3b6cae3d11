"""The hub side of the sync benchmark: real ``mrc-hub serve`` processes on loopback, a
throwaway PostgreSQL, desks enrolled through the real client, and an httpx transport that
counts the bytes on the wire (and can cut the link part way).

Two hub processes serve one database: one over plain HTTP (the measured transfers) and
one over HTTPS with a self-signed certificate the desks pin at enrolment (the HTTPS row).
A bare ASGI app (:mod:`bench.sync_echo`) under uvicorn is the baseline: the same
requests and byte counts without any of the hub's work.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mrc_desktop.hub.cli import desk_approve  # noqa: E402
from mrc_desktop.hub.storage import HubStorage, open_storage  # noqa: E402
from mrc_desktop.storage.ids import uuid7  # noqa: E402
from mrc_desktop.sync.client import enrol  # noqa: E402

START_TIMEOUT_S = 60
READY = "Uvicorn running on"  # printed once the port is bound
FINGERPRINT = re.compile(r"fingerprint: ([0-9A-F:]{95})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- processes ------------------------------------------------------------------------------


@dataclass
class Server:
    """A server program on a loopback port, its output collected by a thread."""

    name: str
    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None

    def printed(self) -> str:
        return "".join(self.output)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.drain is not None:
            self.drain.join(timeout=5)


def start_server(name: str, command: list[str], scheme: str, env: dict[str, str]) -> Server:
    """Run ``command`` + ``--port P`` until it prints uvicorn's ready line (3 ports tried)."""
    for _attempt in range(3):
        port = free_port()
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
        )
        server = Server(name, f"{scheme}://127.0.0.1:{port}", process)
        stdout = process.stdout
        assert stdout is not None
        server.drain = threading.Thread(
            target=lambda s=server, out=stdout: s.output.extend(iter(out.readline, "")),
            daemon=True,
        )
        server.drain.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while READY not in server.printed():
            if process.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if READY in server.printed():
            return server
        server.stop()
        if "address already in use" not in server.printed():
            break
    raise RuntimeError(f"{name} did not start:\n{server.printed()}")


@dataclass
class Hub:
    """One hub database served twice: ``http_url`` and ``https_url`` (pinned certificate)."""

    db_url: str
    backend: str
    http: Server
    https: Server
    fingerprint: str
    storage: HubStorage

    @property
    def http_url(self) -> str:
        return self.http.url

    @property
    def https_url(self) -> str:
        return self.https.url


@contextlib.contextmanager
def running_hub(db_url: str, work: Path) -> Iterator[Hub]:
    """``mrc-hub serve`` over ``db_url``, on HTTP and on HTTPS; admin storage opened too."""
    env = {**os.environ, "MRC_HOME": str(work / "hub-home")}
    serve = [sys.executable, "-m", "mrc_desktop.hub.cli", "serve", "--db", db_url]
    storage = open_storage(db_url)  # migrates before the servers start
    storage.hub_key_seed()  # and makes the hub's identity once, not in two processes at once
    servers: list[Server] = []
    try:
        servers.append(start_server("mrc-hub serve (HTTP)", serve, "http", env))
        tls = ["--tls", "--tls-dir", str(work / "tls")]
        servers.append(start_server("mrc-hub serve (HTTPS)", [*serve, *tls], "https", env))
        found = FINGERPRINT.search(servers[1].printed())
        if found is None:
            raise RuntimeError(f"no TLS fingerprint printed:\n{servers[1].printed()}")
        yield Hub(db_url, storage.backend, servers[0], servers[1], found[1], storage)
    finally:
        for server in servers:
            server.stop()
        storage.close()


@contextlib.contextmanager
def echo_server() -> Iterator[Server]:
    """The baseline: a bare ASGI app under uvicorn that answers N bytes and does nothing."""
    command = [sys.executable, "-m", "uvicorn", "bench.sync_echo:app", "--no-access-log"]
    server = start_server("echo baseline", command, "http", dict(os.environ))
    try:
        yield server
    finally:
        server.stop()


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts[-3])
    if not found:
        raise RuntimeError("PostgreSQL server programs not found under /usr/lib/postgresql/*/bin")
    return found[-1].parent


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A PostgreSQL server on loopback in a temp folder, as ``scripts/dev.sh test`` starts
    one (Debian's programs; as root it runs as the postgres user), removed afterwards.
    Unlike the tests' server it keeps ``fsync`` on: a hub's commits are durable."""
    pg_bin = _postgres_bin()
    as_user: list[str] = []
    parent = tempfile.gettempdir()
    if os.geteuid() == 0:
        if subprocess.run(["id", "-u", "postgres"], capture_output=True).returncode:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        as_user = ["runuser", "-u", "postgres", "--"]
        parent = "/tmp"  # a folder the postgres user can reach
    folder = Path(tempfile.mkdtemp(prefix="mrc-bench-pg.", dir=parent))
    if as_user:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    try:
        subprocess.run(
            [*as_user, str(pg_bin / "initdb"), "-D", str(data), "-U", "mrc", "--auth=trust",
             "-E", "UTF8", "--no-locale", "--no-sync"],
            check=True, capture_output=True,
        )  # fmt: skip
        port = free_port()
        options = f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c max_connections=300"
        subprocess.run(
            [*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
             "-w", "-t", "60", "-o", options, "start"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield f"postgresql://mrc@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*as_user, str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
            )
        shutil.rmtree(folder, ignore_errors=True)


# --- desks ----------------------------------------------------------------------------------


def enrol_desk(db: sqlite_utils.Database, hub: Hub, centre_id: str, label: str) -> str:
    """Enrol a desk over HTTPS (pinning the hub's certificate) the way ``mrc enrol`` does,
    approve it as the admin's ``mrc-hub desk approve CODE`` does, finish the enrolment."""
    desk_id = uuid7()
    first = enrol(db, desk_id, hub.https_url, fingerprint=hub.fingerprint, label=label)
    with contextlib.redirect_stdout(io.StringIO()):
        if desk_approve(hub.storage, first.code, centre_id) != 0:
            raise RuntimeError(f"could not approve desk {label}")
    done = enrol(db, desk_id, hub.https_url, code=first.code)
    if done.status != "approved":
        raise RuntimeError(f"desk {label} is {done.status} after approval")
    return desk_id


# --- the wire -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One request and its answer: body bytes each way, seconds, status (0: no answer)."""

    method: str
    path: str
    sent: int
    received: int
    seconds: float
    status: int


class LinkCut(Exception):
    pass


class WireMeter(httpx.BaseTransport):
    """Counts the body bytes of every request and answer (as sent: before any decoding)
    and times each exchange. With ``cut_after``, the link dies once the uploads (PUT
    bodies and their answers) reach that many bytes: ``cut="upload"`` cuts the request
    under way (the hub never gets it), ``cut="answer"`` lets it reach the hub and loses
    the answer. Every request after a cut fails as a refused connection."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        cut_after: int | None = None,
        cut: str = "upload",
    ) -> None:
        self.inner = inner
        self.cut_after = cut_after
        self.cut = cut
        self.down = False
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def uploaded(self) -> int:
        return sum(e.sent + e.received for e in self.exchanges if e.method == "PUT")

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        path = request.url.path
        if self.down:
            raise httpx.ConnectError("the link is down (benchmark cut)", request=request)
        crossing = (
            self.cut_after is not None
            and request.method == "PUT"
            and self.uploaded() + len(body) >= self.cut_after
        )
        if crossing and self.cut == "upload":
            self.down = True
            partial = max(0, int(self.cut_after or 0) - self.uploaded())
            self._record(Exchange(request.method, path, partial, 0, 0.0, 0))
            raise httpx.WriteError("connection cut while uploading (benchmark)", request=request)
        start = time.perf_counter()
        response = self.inner.handle_request(request)
        try:
            raw = b"".join(response.stream)  # type: ignore[arg-type]
        finally:
            response.close()
        seconds = time.perf_counter() - start
        if crossing:
            self.down = True
            self._record(Exchange(request.method, path, len(body), len(raw), seconds, 0))
            raise httpx.ReadError("answer lost: connection cut (benchmark)", request=request)
        self._record(
            Exchange(request.method, path, len(body), len(raw), seconds, response.status_code)
        )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()


def meter(cut_after: int | None = None, cut: str = "upload", verify: object = True) -> WireMeter:
    return WireMeter(httpx.HTTPTransport(verify=verify), cut_after, cut)  # type: ignore[arg-type]


def replay(base_url: str, exchanges: list[Exchange]) -> float:
    """Seconds to make the same requests with the same body sizes against the echo app
    (one connection, as a sync's client keeps; making the client is not counted)."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        start = time.perf_counter()
        for e in exchanges:
            content = bytes(e.sent) if e.sent else None
            answer = client.request(
                e.method, "/echo", params={"reply": e.received}, content=content
            )
            if len(answer.content) != e.received:
                raise RuntimeError("the echo server answered another size")
        return time.perf_counter() - start
