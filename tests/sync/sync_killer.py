"""`mrc sync` in a process that kills itself with SIGKILL at one chosen point (a test helper).

    MRC_HOME=… MRC_PASSPHRASE=… MRC_TEST_KILL_AT=POINT[:N] python -m tests.sync.sync_killer

runs the real command (``mrc_desktop.cli.main(["sync"])``). The production code has no
hooks: this script wraps a few real functions before the command starts, and the N-th
time (default 1) the sync passes POINT the process sends itself SIGKILL — no cleanup, no
rollback, no atexit, exactly as a power cut or the task manager would stop it:

    fill-before-commit   batches signed and stored, the outbox transaction not committed
    fill-after-commit    the outbox transaction committed, nothing uploaded yet
    put-before-answer    the hub answered a PUT (it committed), the desk has not handled it
    ack-before-commit    the acknowledgement ran, its transaction not committed
    ack-after-commit     an acknowledged batch left the outbox, the next not yet sent
    feed-page            a feed page arrived, none of its batches applied
    apply-before-commit  a batch merged with its chain link, its transaction not committed
    apply-after-commit   a batch and its feed cursor committed, the next item not taken

Without MRC_TEST_KILL_AT the command just runs (the test then kills it at a random time).
"SYNCING" is printed once everything is imported, right before the command starts.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import mrc_desktop.cli
from mrc_desktop.storage.database import write_transaction
from mrc_desktop.sync import client, inbox, outbox

ENV_KILL_AT = "MRC_TEST_KILL_AT"
POINTS = (
    "fill-before-commit",
    "fill-after-commit",
    "put-before-answer",
    "ack-before-commit",
    "ack-after-commit",
    "feed-page",
    "apply-before-commit",
    "apply-after-commit",
)


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str, times: int) -> None:
    """Wrap the real function(s) so that the ``times``-th pass through ``point`` kills."""
    passes = {"n": 0}

    def reached() -> None:
        passes["n"] += 1
        if passes["n"] == times:
            print(f"KILLED at {point} ({times})", flush=True)
            die()

    def after(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            reached()
            return result

        return wrapped

    def inside_transaction(real: Callable[..., Any]) -> Callable[..., Any]:
        """``real`` runs whole, in a transaction that the kill leaves uncommitted."""

        def wrapped(db: Any, *args: Any, **kwargs: Any) -> Any:
            with write_transaction(db):
                result = real(db, *args, **kwargs)
                reached()
            return result

        return wrapped

    if point == "fill-before-commit":
        outbox._cut = after(outbox._cut)  # inside _fill_round's transaction
    elif point == "fill-after-commit":
        client.fill_outbox = after(client.fill_outbox)
    elif point == "put-before-answer":
        client.HubClient.put_batch = after(client.HubClient.put_batch)  # type: ignore[method-assign]
    elif point == "ack-before-commit":
        client.acknowledge = inside_transaction(client.acknowledge)
    elif point == "ack-after-commit":
        client.acknowledge = after(client.acknowledge)
    elif point == "feed-page":
        client.HubClient.feed = after(client.HubClient.feed)  # type: ignore[method-assign]
    elif point == "apply-before-commit":
        inbox._apply = after(inbox._apply)  # inside apply_sealed's transaction
    elif point == "apply-after-commit":
        client.apply_sealed = after(client.apply_sealed)
    else:
        raise SystemExit(f"{ENV_KILL_AT}: unknown point {point!r} (one of {', '.join(POINTS)})")


def main() -> int:
    chosen = os.environ.get(ENV_KILL_AT, "")
    if chosen:
        point, _, times = chosen.partition(":")
        arm(point, int(times or 1))
    print("SYNCING", flush=True)
    return mrc_desktop.cli.main(["sync"])


if __name__ == "__main__":
    raise SystemExit(main())
