"""Append-only, hash-chained audit trail.

Each row stores ``hash = sha256(prev_hash + canonical_json(id, at, actor, action,
subject, details))`` where ``prev_hash`` is the previous row's hash (64 zeros for
the first row).  Ids are assigned here as last id + 1, so they are gap-free:

* editing any field of a row breaks that row's hash;
* deleting a row leaves a gap in the ids (and breaks the next row's link);
* deleting the *last* rows cannot be seen from the table alone: keep
  :func:`head` somewhere else (batch report, external log) and pass it to
  :func:`verify` as ``expected_head`` to detect truncation.

Appends are serialised so the chain never forks: PostgreSQL takes a
transaction-level advisory lock; SQLite takes the database write lock before
reading the tail.  ``prev_hash`` is also UNIQUE, so a fork is impossible even if
the lock were bypassed.  Database triggers (migration 0001) refuse UPDATE and
DELETE on ``audit_log``.

Functions flush but never commit: the entry belongs to the caller's transaction,
so an audited change and its audit row commit (or roll back) together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from controller.store.models import AuditEntry, utc_now

__all__ = [
    "GENESIS_HASH",
    "AuditVerification",
    "append",
    "canonical_json",
    "compute_hash",
    "head",
    "verify",
]

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key: int.from_bytes(sha256(b"poreline.audit_log")[:8], signed=True)
_PG_LOCK_KEY = int.from_bytes(hashlib.sha256(b"poreline.audit_log").digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class AuditVerification:
    ok: bool
    first_bad_id: int | None
    reason: str
    rows_checked: int = 0


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def compute_hash(
    prev_hash: str,
    *,
    id: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any],
) -> str:
    payload = canonical_json(
        {
            "id": id,
            "at": at.isoformat(),
            "actor": actor,
            "action": action,
            "subject": subject,
            "details": details,
        }
    )
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement takes SQLite's RESERVED (write) lock - waiting up to
        # busy_timeout for other writers - before the tail is read below.  It
        # matches no row, so the append-only triggers do not fire.
        session.execute(text("UPDATE audit_log SET actor = actor WHERE 0 = 1"))


def append(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the chain (in the caller's transaction) and return it."""
    # Round-trip through JSON so that what is hashed is exactly what is stored
    # (tuples become lists, keys become strings, NaN is refused).
    details_json = json.loads(canonical_json(details or {}))
    at = at or utc_now()
    _lock_chain(session)
    last = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    new_id = 1 if last is None else last.id + 1
    prev_hash = GENESIS_HASH if last is None else last.hash
    entry = AuditEntry(
        id=new_id,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        details=details_json,
        prev_hash=prev_hash,
        hash=compute_hash(
            prev_hash, id=new_id, at=at, actor=actor, action=action, subject=subject, details=details_json
        ),
    )
    session.add(entry)
    session.flush()
    return entry


def head(session: Session) -> tuple[int, str] | None:
    """``(id, hash)`` of the newest entry, or ``None`` for an empty trail."""
    row = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    return None if row is None else (row.id, row.hash)


def verify(session: Session, *, expected_head: tuple[int, str] | None = None) -> AuditVerification:
    """Walk the whole chain; report the first row that is edited, missing or mislinked."""
    columns = (
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.subject,
        AuditEntry.details,
        AuditEntry.prev_hash,
        AuditEntry.hash,
    )
    expected_id = 1
    prev_hash = GENESIS_HASH
    checked = 0
    result = session.execute(
        select(*columns).order_by(AuditEntry.id).execution_options(yield_per=2000)
    )
    for row in result:
        if row.id != expected_id:
            missing = (
                f"row {expected_id} is missing"
                if row.id == expected_id + 1
                else f"rows {expected_id}..{row.id - 1} are missing"
            )
            return AuditVerification(
                False, expected_id, f"{missing} (deleted?): row {row.id} follows row {expected_id - 1}", checked
            )
        if row.prev_hash != prev_hash:
            return AuditVerification(
                False,
                row.id,
                f"row {row.id}: prev_hash does not match the hash of row {row.id - 1} (chain broken)",
                checked,
            )
        recomputed = compute_hash(
            row.prev_hash,
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            details=row.details,
        )
        if recomputed != row.hash:
            return AuditVerification(
                False, row.id, f"row {row.id}: content does not match its hash (row edited)", checked
            )
        prev_hash = row.hash
        expected_id += 1
        checked += 1
    if expected_head is not None:
        head_id, head_hash = expected_head
        last_id = expected_id - 1
        if last_id < head_id:
            return AuditVerification(
                False,
                last_id + 1,
                f"trail ends at row {last_id} but the recorded head is row {head_id} (rows deleted from the end)",
                checked,
            )
        if last_id >= head_id:
            # The recorded head must still be in the chain with the same hash.
            stored = session.get(AuditEntry, head_id)
            if stored is None or stored.hash != head_hash:
                return AuditVerification(
                    False, head_id, f"row {head_id}: hash differs from the recorded head", checked
                )
    return AuditVerification(True, None, f"{checked} rows verified", checked)
