"""The command/state channel between a line runtime and its clients: what travels, and how
it is framed, bounded and authenticated.

Transport: ZeroMQ (pyzmq), a ROUTER socket in the runtime and a DEALER per client, over a
Unix socket by default (``ipc://<state dir>/<line id>.sock``, in a directory only the
runtime's user can open) or TCP on loopback. ZeroMQ brings what a hand-written socket
protocol would have to: framing, reconnection after either side restarts, many clients on
one socket, and a hard bound on message size (``MAXMSGSIZE``: a larger message drops the
sender's connection before it is parsed). bluesky-queueserver talks to its worker the same
way.

Encoding: one JSON object per message (UTF-8), small and readable in a capture.

Authentication: every request carries a shared secret (32 random bytes, hex) that the
runtime writes at first start to ``<socket>.key`` with mode 0600 (readable only by its
user); the runtime compares it in constant time and answers 401 without acting otherwise.
The user on whose behalf a command is made travels in the request and is what the batch
record and the audit trail name; the client (the API) authenticated that user.

Requests: ``{"id": n, "key": "...", "op": "...", "args": {...}}``; replies: ``{"id": n,
"ok": true, "result": ...}`` or ``{"id": n, "ok": false, "status": 409, "detail": "...",
"state": "Held"}``. A client that sends ``subscribe`` (renewed every second) receives
``{"push": "status", "status": {...}}`` messages.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from typing import Any

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # a compiled recipe document is tens of kB; the bound is far above
SUBSCRIPTION_S = 3.0  # a subscription lapses without renewal for this long (wall seconds)
PUSH_PERIOD_S = 0.1  # at most ten status pushes a second, whatever the scan rate


def endpoint_for(state_dir: Path, line_id: str) -> str:
    return f"ipc://{state_dir / f'{line_id}.sock'}"


def key_path_for(endpoint: str, state_dir: Path | None = None, line_id: str | None = None) -> Path:
    """Where the key of ``endpoint`` is: next to an ipc socket, else in the state directory."""
    if endpoint.startswith("ipc://"):
        return Path(endpoint.removeprefix("ipc://") + ".key")
    if state_dir is None or line_id is None:
        raise ValueError(f"{endpoint}: give the key file of a TCP endpoint")
    return state_dir / f"{line_id}.key"


def ensure_key(path: Path) -> str:
    """The runtime's key, created (mode 0600) at first start. The API and the runtime it
    starts may both get here first: the key is written whole to a file of its own and linked
    into place (atomic, and refused if the other was quicker, whose key is then read), so no
    one ever reads a key half written."""
    if path.exists():
        return read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(partial, path)
        except FileExistsError:
            return read_key(path)
    finally:
        partial.unlink(missing_ok=True)
    return key


def read_key(path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    if len(key) != 64:
        raise ValueError(f"{path}: not a line runtime key")
    return key


def configuration(*, kind: str, database_url: str, plant_file: Path | None, speed: float, scan_period_s: float,
                  sample_period_s: float, seed: int) -> dict[str, Any]:
    """What a runtime runs, as both ends of the channel state it: a server attaching to a
    running runtime checks that it runs what the server was asked to run. The database is
    named by a fingerprint, never by its URL (which may hold a password)."""
    return {"kind": kind, "database": hashlib.sha256(database_url.encode()).hexdigest()[:16],
            "plant_file": str(plant_file.resolve()) if plant_file is not None else None,
            "speed": float(speed), "scan_period_s": float(scan_period_s), "sample_period_s": float(sample_period_s),
            "seed": int(seed)}


def encode(message: dict[str, Any]) -> bytes:
    """JSON; a value that is not a number (NaN) travels as Python's json writes it."""
    return json.dumps(message, separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> dict[str, Any]:
    message = json.loads(data.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("a message is a JSON object")
    return message
