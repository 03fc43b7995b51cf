"""Checkpoints anchor the audit trail outside the database.

The hash chain (:mod:`controller.store.audit`) shows an edited or deleted row, but not
rows deleted from the end, nor rows rewritten together with a recomputed chain: whoever
can write the table can also recompute every hash after the rows they changed. A
checkpoint records the chain's head ``(id, hash)`` at a moment, authenticated with
HMAC-SHA256 under a key kept in a file outside the database (the database's users
never read it), one JSON line per checkpoint::

    {"id": 1234, "hash": "9f2c...", "at": "2026-12-01T06:00:00+00:00", "hmac": "5b1e..."}

Appended to a file kept elsewhere (another host, write-once storage, a printed batch
report), the checkpoints let :func:`verify_checkpoints` find:

* truncation: the trail ends before a checkpoint's id (rows deleted from the end, or
  the table emptied);
* re-hashing: the row at a checkpoint's id has another hash (rows up to it rewritten);
* a forged or altered checkpoint line: its HMAC does not verify with the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.store import audit
from controller.store.models import AuditEntry, utc_now

__all__ = [
    "KEY_MIN_CHARS",
    "Anchor",
    "Checkpoint",
    "CheckpointError",
    "CheckpointLine",
    "append_checkpoint",
    "create_key",
    "read_checkpoints",
    "read_key",
    "sign",
    "take_checkpoint",
    "verify_anchors",
    "verify_checkpoints",
]

KEY_MIN_CHARS = 32  # a key file holds at least this many characters (create_key writes 64 hex digits)


class CheckpointError(ValueError):
    """A key or checkpoint file cannot be used; the message says what to do."""


@dataclass(frozen=True)
class Checkpoint:
    id: int  # the newest audit row when the checkpoint was taken (0: the trail was empty)
    hash: str  # its chain hash (audit.GENESIS_HASH for an empty trail)
    at: datetime  # when the checkpoint was taken (UTC)
    hmac: str  # HMAC-SHA256 (hex) of the three fields above under the key

    def to_line(self) -> str:
        return json.dumps({"id": self.id, "hash": self.hash, "at": self.at.isoformat(), "hmac": self.hmac})


def _mac(key: bytes, id: int, hash: str, at: datetime) -> str:
    message = audit.canonical_json({"id": id, "hash": hash, "at": at.isoformat()}).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def sign(key: bytes, id: int, hash: str, at: datetime) -> Checkpoint:
    return Checkpoint(id, hash, at, _mac(key, id, hash, at))


# ----------------------------------------------------------------------- the key
def create_key(path: Path) -> None:
    """Write a new random key (64 hex digits) to ``path``, readable by its owner only (0600);
    an existing file is never overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CheckpointError(f"key file {path} exists already; use it, or move it away to create another") from None
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_hex(32) + "\n")


def read_key(path: Path) -> bytes:
    """The key in ``path``; refused when missing, too short, or readable by other users."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CheckpointError(f"key file {path} not found; create it with --create-key (and keep a copy "
                              "away from the database)") from None
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"key file {path} is not a regular file; give the key file")
    if os.name == "posix" and mode & 0o077:
        raise CheckpointError(f"key file {path} is readable by other users (mode {stat.S_IMODE(mode):04o}); "
                              f"run: chmod 600 {path}")
    key = path.read_bytes().strip()
    if len(key) < KEY_MIN_CHARS:
        raise CheckpointError(f"key file {path} holds {len(key)} characters, fewer than {KEY_MIN_CHARS}; "
                              "create a new key with --create-key")
    return key


# ------------------------------------------------------------ taking checkpoints
def take_checkpoint(session: Session, key: bytes, *, now: datetime | None = None) -> Checkpoint:
    """The current head of the audit trail, signed with ``key``."""
    head = audit.head(session)
    head_id, head_hash = head if head is not None else (0, audit.GENESIS_HASH)
    return sign(key, head_id, head_hash, now or utc_now())


def append_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Append ``checkpoint`` as one JSON line to ``path`` (created if missing) and sync it to disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(checkpoint.to_line() + "\n")
        out.flush()
        os.fsync(out.fileno())


# ------------------------------------------------------------ reading checkpoints
@dataclass(frozen=True)
class CheckpointLine:
    line_no: int
    checkpoint: Checkpoint


def read_checkpoints(path: Path, key: bytes) -> tuple[list[CheckpointLine], list[str]]:
    """The checkpoints of ``path`` whose HMAC verifies with ``key``, and one finding per line
    that is not a checkpoint or whose HMAC does not verify (forged or altered)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint file {path} not found; give the file `poreline audit checkpoint "
                              "--out` appends to") from None
    except UnicodeDecodeError as exc:
        raise CheckpointError(f"checkpoint file {path} is not UTF-8 at byte {exc.start}; give a checkpoint "
                              "file") from None
    good: list[CheckpointLine] = []
    findings: list[str] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {line_no}"
        try:
            data = json.loads(line)
            checkpoint = Checkpoint(int(data["id"]), str(data["hash"]), datetime.fromisoformat(data["at"]),
                                    str(data["hmac"]))
        except (ValueError, KeyError, TypeError):
            findings.append(f"{where}: not a checkpoint (a JSON object with id, hash, at and hmac); "
                            "forged or damaged")
            continue
        if checkpoint.at.tzinfo is None:
            findings.append(f"{where}: its time has no zone; forged or damaged")
            continue
        expected = _mac(key, checkpoint.id, checkpoint.hash, checkpoint.at)
        if not hmac.compare_digest(expected, checkpoint.hmac):
            findings.append(f"{where}: forged or altered checkpoint (its HMAC does not verify with the key) "
                            f"claiming row {checkpoint.id}")
            continue
        good.append(CheckpointLine(line_no, checkpoint))
    return good, findings


# ------------------------------------------------------------- verifying the trail
@dataclass(frozen=True)
class Anchor:
    """A head of the trail recorded elsewhere: a checkpoint line, or the head a batch report carries."""

    label: str  # where it was recorded, for the finding: "checkpoints.jsonl line 3 (2026-12-01 06:00:00 UTC)"
    id: int
    hash: str


def verify_anchors(session: Session, anchors: Iterable[Anchor]) -> list[str]:
    """One finding per anchor the audit trail no longer matches: rows deleted from the end
    (truncation), a row missing, or a row whose hash differs (rows rewritten and re-hashed)."""
    wanted = sorted(anchors, key=lambda a: a.id)
    last_id = session.execute(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)).scalar_one_or_none() or 0
    ids = sorted({a.id for a in wanted if a.id > 0})
    stored: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = session.execute(select(AuditEntry.id, AuditEntry.hash).where(AuditEntry.id.in_(chunk)))
        stored.update({row.id: row.hash for row in rows})
    findings: list[str] = []
    for anchor in wanted:
        if anchor.id == 0:
            if anchor.hash != audit.GENESIS_HASH:
                findings.append(f"{anchor.label}: claims an empty trail with a hash other than the genesis hash")
            continue
        if anchor.id > last_id:
            ends = "the trail is empty" if last_id == 0 else f"the trail ends at row {last_id}"
            deleted = f"row {anchor.id} was" if anchor.id == last_id + 1 else f"rows {last_id + 1}..{anchor.id} were"
            findings.append(f"{anchor.label}: row {anchor.id} existed but {ends}: {deleted} deleted from the end "
                            "(truncated)")
        elif anchor.id not in stored:
            findings.append(f"{anchor.label}: row {anchor.id} is missing (deleted)")
        elif stored[anchor.id] != anchor.hash:
            findings.append(f"{anchor.label}: row {anchor.id} has hash {stored[anchor.id][:12]}... but "
                            f"{anchor.hash[:12]}... was recorded: rows up to {anchor.id} were rewritten (re-hashed)")
    return findings


def verify_checkpoints(session: Session, checkpoints: Iterable[CheckpointLine], *, source: str = "checkpoint"
                       ) -> list[str]:
    """:func:`verify_anchors` for checkpoint lines (read and authenticated by :func:`read_checkpoints`)."""
    return verify_anchors(session, [
        Anchor(f"{source} line {c.line_no} ({c.checkpoint.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)",
               c.checkpoint.id, c.checkpoint.hash)
        for c in checkpoints])
