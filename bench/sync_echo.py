"""The sync benchmark's baseline server: reads the request body and answers ``reply`` bytes.

    .venv/bin/python -m uvicorn bench.sync_echo:app --port P

No routing, no checks, no storage: what is left of a sync's time against this server is
loopback HTTP itself (uvicorn, httpx, the bytes), measured with the same requests and
body sizes the real sync made (``bench.sync_hub.replay``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Message = MutableMapping[str, Any]


async def app(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body", False))
    query = parse_qs(scope.get("query_string", b"").decode("ascii"))
    size = int(query.get("reply", ["0"])[0])
    headers = [(b"content-type", b"application/octet-stream"), (b"content-length", b"%d" % size)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": bytes(size)})
