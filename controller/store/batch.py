"""Batch records: written by the controller engine during a run, read by the API.

Write side - :class:`BatchRecorder`.  Synchronous and cheap per call so it can be
called from the asyncio scan loop:

* step, command and alarm events are written at once, one short Core
  transaction each (they are rare and matter most after a crash);
* samples (the hot path: 10^5-10^6 rows per run) are appended to an in-memory
  buffer of row tuples and written with one DBAPI executemany per ``batch_size``
  rows on :meth:`BatchRecorder.flush`, when the buffer is full, when the oldest
  buffered sample is older than ``max_buffer_age_s`` of wall time, and at
  :meth:`BatchRecorder.end_run`.  The same transaction merges them into the
  per-minute rollups (``sample_rollups``: count, sum, min, max per run, tag and
  minute) that wide trends read.

The recorder is not thread-safe; use one per engine loop.  A failed flush
keeps the buffered rows and re-raises, so a later flush can retry.

Read side - :func:`load_batch_record`, :func:`export_csv`, :func:`trend` (the
downsampling is done in SQL: one row per time bucket with avg/min/max, from the
samples for narrow windows and from the minute rollups for wide ones).

Times: ``t_s`` are run seconds (virtual seconds for simulated runs) since the
run's ``time_origin``; ``BatchRecord.run.timestamp(t_s)`` maps them to wall time.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Connection, Engine, Integer, cast, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from controller.store import audit
from controller.store.database import writer
from controller.store.models import (
    ROLLUP_S,
    Alarm,
    AlarmEvent,
    AlarmState,
    HistorianProgress,
    Run,
    RunCommand,
    RunDeviation,
    RunStep,
    Sample,
    SampleQuality,
    SampleRollup,
    utc_now,
)

log = logging.getLogger(__name__)

__all__ = [
    "AlarmEventRecord",
    "AlarmRecord",
    "BatchRecord",
    "BatchRecorder",
    "CommandRecord",
    "RunInfo",
    "StepRecord",
    "TrendPoint",
    "export_csv",
    "load_batch_record",
    "trend",
]

DEFAULT_LINE_ID = "line-1"  # the line of a database written before lines had ids (migration 0004)
_QUALITIES = frozenset(SampleQuality.values())
_SAMPLES = Sample.__table__
_SAMPLE_COLUMNS = ("run_id", "t_s", "tag", "value", "quality")  # the order of a buffered row


# ====================================================================== rollups
def _minute_rollups(rows: Iterable[tuple[int, float, str, float | None, str]]) -> list[dict[str, Any]]:
    """Per (run, tag, minute of run time) of buffered sample rows: count, sum, min and max
    of the non-null values (a minute of nulls only still gets a row, with count 0)."""
    acc: dict[tuple[int, str, int], list[Any]] = {}
    for run_id, t_s, tag, value, _quality in rows:
        key = (run_id, tag, math.floor(t_s / ROLLUP_S))
        entry = acc.get(key)
        if entry is None:
            acc[key] = entry = [0, 0.0, None, None]
        if value is not None:
            entry[0] += 1
            entry[1] += value
            if entry[2] is None or value < entry[2]:
                entry[2] = value
            if entry[3] is None or value > entry[3]:
                entry[3] = value
    return [{"run_id": run_id, "tag": tag, "minute": minute, "value_count": count, "value_sum": total,
             "value_min": vmin, "value_max": vmax}
            for (run_id, tag, minute), (count, total, vmin, vmax) in acc.items()]


def _rollup_upsert(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE that merges new rollups into the stored ones."""
    table = SampleRollup.__table__
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    new = statement.excluded
    # PostgreSQL's LEAST/GREATEST skip nulls; SQLite's scalar min/max return null if any
    # argument is null, hence the coalesce (both: null only when both sides are null)
    least, greatest = (func.least, func.greatest) if dialect == "postgresql" else (func.min, func.max)
    return statement.on_conflict_do_update(
        index_elements=[table.c.run_id, table.c.tag, table.c.minute],
        set_={
            "value_count": table.c.value_count + new.value_count,
            "value_sum": table.c.value_sum + new.value_sum,
            "value_min": func.coalesce(least(table.c.value_min, new.value_min), table.c.value_min, new.value_min),
            "value_max": func.coalesce(greatest(table.c.value_max, new.value_max), table.c.value_max,
                                       new.value_max),
        },
    )


def _mark_progress(conn: Connection, line_id: str, seq: int, now: datetime) -> None:
    table = HistorianProgress.__table__
    statement = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)
    conn.execute(statement.values(line_id=line_id, last_seq=seq, updated_at=now).on_conflict_do_update(
        index_elements=[table.c.line_id], set_={"last_seq": seq, "updated_at": now}))


# ======================================================================= write
class BatchRecorder:
    def __init__(
        self,
        engine: Engine,
        *,
        batch_size: int = 5000,
        max_buffer_age_s: float | None = 5.0,
        wall_clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        clock_speed: float = 1.0,
    ) -> None:
        """``clock_speed``: the engine's seconds per wall second (a sped-up simulator), for
        turning a run-less alarm's shelf expiry into epoch seconds."""
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self._engine = engine
        self._writer = writer(engine)  # every transaction here writes
        self.batch_size = batch_size
        self.max_buffer_age_s = max_buffer_age_s
        self._wall_clock = wall_clock
        self._monotonic = monotonic
        self._clock_speed = clock_speed
        self._buffer: list[tuple[int, float, str, float | None, str]] = []  # _SAMPLE_COLUMNS
        self._buffer_since: float | None = None
        self._open_steps: dict[tuple[int, int], int] = {}
        self._open_alarms: dict[tuple[str, int | None, str], int] = {}  # (line, run, alarm id) -> row
        self._conn: Connection | None = None  # the transaction of :meth:`transaction`, while open
        self.samples_written = 0
        self.audit_head: tuple[int, str] | None = None  # (id, hash) of the trail when the last run ended

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """This call's transaction: its own, or the one :meth:`transaction` opened."""
        if self._conn is not None:
            yield self._conn
            return
        with self._writer.begin() as conn:
            yield conn

    @contextmanager
    def transaction(self, progress: tuple[str, int] | None = None) -> Iterator[None]:
        """Group the writes made inside into one transaction; with ``progress`` (line id,
        sequence number) it also records the historian's progress, so that the writes and
        the mark commit together or not at all. If it fails, the cached ids of open steps
        and alarms are forgotten (the database is asked again)."""
        with self._writer.begin() as conn:
            self._conn = conn
            try:
                yield
                if progress is not None:
                    _mark_progress(conn, *progress, self._wall_clock())
            except BaseException:
                self._open_steps.clear()
                self._open_alarms.clear()
                raise
            finally:
                self._conn = None

    def progress(self, line_id: str) -> int:
        """The sequence number of the last historian event committed for ``line_id`` (0: none)."""
        with self._engine.connect() as conn:
            last = conn.execute(select(HistorianProgress.last_seq).where(HistorianProgress.line_id == line_id))
            return int(last.scalar_one_or_none() or 0)

    @property
    def pending_samples(self) -> int:
        return len(self._buffer)

    # ---------------------------------------------------------------- runs
    def _start_run_in(self, conn: Connection, recipe_id: str, recipe_version: int, line_kind: str,
                      parameters: dict[str, Any], operator: str, simulated: bool, line_id: str,
                      time_origin: datetime | None = None) -> int:
        now = self._wall_clock()
        result = conn.execute(insert(Run.__table__).values(
            line_id=line_id, recipe_id=recipe_id, recipe_version=recipe_version, line_kind=line_kind,
            parameters=parameters, operator=operator, simulated=simulated, time_origin=time_origin or now,
            started_at=now))
        return int(result.inserted_primary_key[0])

    def start_run(
        self,
        recipe_id: str,
        recipe_version: int,
        line_kind: str,
        parameters: dict[str, Any],
        operator: str,
        simulated: bool,
        *,
        time_origin: datetime | None = None,
        line_id: str = DEFAULT_LINE_ID,
    ) -> int:
        """Create the batch record of a run on line ``line_id``; ``time_origin`` is the wall
        time of t_s = 0 (default: now)."""
        with self._begin() as conn:
            return self._start_run_in(conn, recipe_id, recipe_version, line_kind, parameters, operator, simulated,
                                      line_id, time_origin)

    def open_run(self, recipe_id: str, recipe_version: int, line_kind: str, parameters: dict[str, Any],
                 operator: str, simulated: bool, *, line_id: str, audit_details: dict[str, Any]) -> int:
        """Create the batch record and its ``run.start`` audit entry in one transaction:
        both or neither (a start that fails leaves nothing half-written)."""
        with self._begin() as conn:
            run_id = self._start_run_in(conn, recipe_id, recipe_version, line_kind, parameters, operator, simulated,
                                        line_id)
            self._audit(conn, operator, "run.start", f"run {run_id}",
                        {"line_id": line_id, "recipe_id": recipe_id, "recipe_version": recipe_version,
                         **audit_details})
        return run_id

    def audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> None:
        """Append an audit entry (in the current transaction, if any)."""
        with self._begin() as conn:
            self._audit(conn, actor, action, subject, details)

    def _audit(self, conn: Connection, actor: str, action: str, subject: str, details: dict[str, Any]) -> None:
        with Session(bind=conn) as session:
            audit.append(session, actor, action, subject, details)
            session.flush()

    def record_quality(self, run_id: int, quality: dict[str, Any]) -> None:
        with self._begin() as conn:
            conn.execute(update(Run).where(Run.id == run_id).values(quality=quality))

    def record_scan_stats(self, run_id: int, stats: dict[str, Any]) -> None:
        with self._begin() as conn:
            conn.execute(update(Run).where(Run.id == run_id).values(scan_stats=stats))

    def close_lost_runs(self, line_id: str) -> list[tuple[int, str]]:
        """Close every run of ``line_id`` a runtime left open (it was killed): final state
        Aborted, the reason "controller lost at <wall time of its last record>, last step
        <name>", an abort in its command log and an audit entry. Returns (run id, reason)."""
        closed: list[tuple[int, str]] = []
        with self._begin() as conn:
            runs = conn.execute(select(Run.id, Run.time_origin, Run.started_at)
                                .where(Run.line_id == line_id, Run.final_state.is_(None))).all()
            for run_id, time_origin, started_at in runs:
                last_t_s = conn.execute(select(func.max(Sample.t_s)).where(Sample.run_id == run_id)).scalar()
                step = conn.execute(select(RunStep.name, RunStep.started_s).where(RunStep.run_id == run_id)
                                    .order_by(RunStep.id.desc()).limit(1)).first()
                candidates = [t for t in (last_t_s, step.started_s if step is not None else None) if t is not None]
                t_s = max(candidates) if candidates else 0.0
                lost_at = (time_origin if time_origin.tzinfo else time_origin.replace(tzinfo=UTC)) + timedelta(
                    seconds=t_s) if candidates else started_at
                reason = (f"controller lost at {lost_at.astimezone(UTC).isoformat(timespec='seconds')}, "
                          f"last step {step.name if step is not None else 'none'}")
                conn.execute(update(RunStep).where(RunStep.run_id == run_id, RunStep.ended_s.is_(None))
                             .values(ended_s=t_s, outcome="lost"))
                conn.execute(insert(RunCommand.__table__).values(run_id=run_id, command="abort", username="system",
                                                                 t_s=t_s, accepted=True, reason=reason))
                conn.execute(update(Run).where(Run.id == run_id).values(
                    final_state="Aborted", ended_t_s=t_s, ended_at=self._wall_clock(), end_reason=reason))
                self._audit(conn, "system", "run.lost", f"run {run_id}", {"line_id": line_id, "reason": reason})
                closed.append((run_id, reason))
        return closed

    def end_run(self, run_id: int, final_state: str, t_s: float) -> None:
        """Flush buffered samples and close the record (``ended_at`` is wall time now). The
        audit trail's committed head is logged as a checkpoint (kept in the runtime's log,
        outside the database) and kept in :attr:`audit_head` for the run's printed report."""
        self._log_audit_head(run_id, final_state)
        self.flush()
        with self._begin() as conn:
            conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(final_state=final_state, ended_t_s=t_s, ended_at=self._wall_clock())
            )
        self._open_steps = {k: v for k, v in self._open_steps.items() if k[0] != run_id}
        self._open_alarms = {k: v for k, v in self._open_alarms.items() if k[1] != run_id}

    def _log_audit_head(self, run_id: int, final_state: str) -> None:
        try:  # committed rows only (another connection): a rolled-back append is never anchored
            with self._engine.connect() as conn, Session(bind=conn) as session:
                self.audit_head = audit.head(session)
        except SQLAlchemyError as exc:
            log.warning("audit checkpoint: run %d: cannot read the audit trail's head: %s", run_id,
                        str(exc).splitlines()[0][:300])
            return
        if self.audit_head is not None:
            head_id, head_hash = self.audit_head
            log.info("audit checkpoint: run %d %s; audit trail head row %d sha256 %s "
                     "(poreline audit verify --head %d:%s)", run_id, final_state, head_id, head_hash, head_id,
                     head_hash)

    # -------------------------------------------------------------- events
    def log_step_started(self, run_id: int, index: int, name: str, t_s: float) -> None:
        with self._begin() as conn:
            result = conn.execute(
                insert(RunStep.__table__).values(run_id=run_id, step_index=index, name=name, started_s=t_s)
            )
        self._open_steps[(run_id, index)] = int(result.inserted_primary_key[0])

    def log_step_ended(self, run_id: int, index: int, t_s: float, outcome: str) -> None:
        step_pk = self._open_steps.pop((run_id, index), None)
        with self._begin() as conn:
            if step_pk is None:  # recorder restarted mid-step: find the newest open one
                step_pk = conn.execute(
                    select(RunStep.id)
                    .where(RunStep.run_id == run_id, RunStep.index == index, RunStep.ended_s.is_(None))
                    .order_by(RunStep.id.desc())
                    .limit(1)
                ).scalar_one_or_none()
                if step_pk is None:
                    raise LookupError(f"run {run_id} has no open step {index}")
            conn.execute(update(RunStep).where(RunStep.id == step_pk).values(ended_s=t_s, outcome=outcome))

    def log_command(
        self,
        run_id: int,
        command: str,
        user: str,
        t_s: float,
        accepted: bool,
        reason: str | None = None,
    ) -> None:
        with self._begin() as conn:
            conn.execute(
                insert(RunCommand.__table__).values(
                    run_id=run_id, command=command, username=user, t_s=t_s, accepted=accepted, reason=reason
                )
            )

    def log_deviation(self, run_id: int, started_t_s: float, ended_t_s: float, alarm_ids: list[str],
                      outputs: list[str]) -> None:
        with self._begin() as conn:
            conn.execute(insert(RunDeviation.__table__).values(
                run_id=run_id, started_t_s=started_t_s, ended_t_s=ended_t_s, alarm_ids=list(alarm_ids),
                outputs=list(outputs)))

    def log_alarm(
        self,
        run_id: int | None,
        alarm_id: str,
        message: str,
        priority: str,
        state: str,
        t_s: float,
        *,
        user: str | None = None,
        line_id: str = DEFAULT_LINE_ID,
        note: str | None = None,
        shelved_until_t_s: float | None = None,
    ) -> None:
        """Record that alarm ``alarm_id`` of line ``line_id`` entered ``state`` (an ISA-18.2 transition
        decided by the engine).  A new occurrence starts when an alarm that is not
        open enters a non-normal state; reaching ``normal`` closes it.

        ``run_id`` None: an alarm while no run is active.  Its times are Unix epoch
        seconds (the store's convention for run-less alarms), so ``t_s`` - a clock
        reading that means nothing without a run - is replaced by the wall clock's."""
        state = AlarmState(state).value
        if run_id is None:  # epoch seconds; a shelf's expiry keeps its distance from now
            engine_t_s, t_s = t_s, self._wall_clock().timestamp()
            if shelved_until_t_s is not None:
                shelved_until_t_s = t_s + (shelved_until_t_s - engine_t_s) / self._clock_speed
        key = (line_id, run_id, alarm_id)
        with self._begin() as conn:
            alarm_pk = self._open_alarms.get(key)
            if alarm_pk is None:
                alarm_pk = conn.execute(
                    select(Alarm.id)
                    .where(Alarm.run_id.is_(None) if run_id is None else Alarm.run_id == run_id,
                           Alarm.line_id == line_id, Alarm.alarm_id == alarm_id,
                           Alarm.state != AlarmState.NORMAL.value)
                    .order_by(Alarm.id.desc())
                    .limit(1)
                ).scalar_one_or_none()
            updated = False
            if alarm_pk is not None:
                values: dict[str, Any] = {"state": state, "message": message, "priority": priority}
                if state == AlarmState.UNACKNOWLEDGED.value:
                    values.update(condition_active=True, cleared_t_s=None)
                elif state == AlarmState.RTN_UNACKNOWLEDGED.value:
                    values.update(condition_active=False, cleared_t_s=t_s)
                elif state == AlarmState.NORMAL.value:
                    values.update(condition_active=False, cleared_t_s=func.coalesce(Alarm.cleared_t_s, t_s))
                elif state == AlarmState.SHELVED.value:
                    values.update(shelved_by=user, shelved_until_t_s=shelved_until_t_s)
                if user is not None and state in (AlarmState.ACKNOWLEDGED.value, AlarmState.NORMAL.value):
                    values.update(acknowledged_by=user, acknowledged_at=self._wall_clock())
                updated = (
                    conn.execute(
                        update(Alarm)
                        .where(Alarm.id == alarm_pk, Alarm.state != AlarmState.NORMAL.value)
                        .values(**values)
                    ).rowcount
                    == 1
                )
            if not updated:
                if state == AlarmState.NORMAL.value:
                    self._open_alarms.pop(key, None)
                    return  # nothing open: already normal
                alarm_pk = int(
                    conn.execute(
                        insert(Alarm.__table__).values(
                            line_id=line_id,
                            run_id=run_id,
                            alarm_id=alarm_id,
                            message=message,
                            priority=priority,
                            state=state,
                            condition_active=state != AlarmState.RTN_UNACKNOWLEDGED.value,
                            raised_t_s=t_s,
                            cleared_t_s=t_s if state == AlarmState.RTN_UNACKNOWLEDGED.value else None,
                        )
                    ).inserted_primary_key[0]
                )
            conn.execute(
                insert(AlarmEvent.__table__).values(alarm_pk=alarm_pk, t_s=t_s, state=state, actor=user, note=note)
            )
        if state == AlarmState.NORMAL.value:
            self._open_alarms.pop(key, None)
        else:
            self._open_alarms[key] = alarm_pk

    def close_runless_alarms(self, note: str, line_id: str = DEFAULT_LINE_ID) -> list[str]:
        """Return every open run-less occurrence (``run_id`` NULL) of line ``line_id`` to
        ``normal``, each with an event carrying ``note`` (e.g. the line they stood on was
        replaced); returns their alarm ids."""
        t_s = self._wall_clock().timestamp()
        normal = AlarmState.NORMAL.value
        with self._begin() as conn:
            rows = conn.execute(
                select(Alarm.id, Alarm.alarm_id)
                .where(Alarm.run_id.is_(None), Alarm.line_id == line_id, Alarm.state != normal)
                .order_by(Alarm.id)
            ).all()
            for alarm_pk, _alarm_id in rows:
                conn.execute(
                    update(Alarm)
                    .where(Alarm.id == alarm_pk)
                    .values(state=normal, condition_active=False, cleared_t_s=func.coalesce(Alarm.cleared_t_s, t_s))
                )
                conn.execute(
                    insert(AlarmEvent.__table__).values(alarm_pk=alarm_pk, t_s=t_s, state=normal, actor=None, note=note)
                )
        self._open_alarms = {k: v for k, v in self._open_alarms.items() if k[0] != line_id or k[1] is not None}
        return [alarm_id for _pk, alarm_id in rows]

    # ------------------------------------------------------------- samples
    def add_sample(
        self, run_id: int, t_s: float, tag: str, value: float | None, quality: str = "good"
    ) -> None:
        """Buffer one sample (no I/O unless the buffer is full or old)."""
        self.add_samples(run_id, t_s, [(tag, value, quality)])

    def add_samples(self, run_id: int, t_s: float, samples: list[tuple[str, float | None, str]]) -> None:
        """Buffer one instant's samples, (tag, value, quality) each; a value that is not
        finite is stored as NULL with quality bad."""
        if not self._buffer:
            self._buffer_since = self._monotonic()
        buffer = self._buffer
        for tag, value, quality in samples:
            if quality not in _QUALITIES:
                raise ValueError(f"quality must be one of {sorted(_QUALITIES)}, got {quality!r}")
            if value is not None and not math.isfinite(value):
                value, quality = None, SampleQuality.BAD.value
            buffer.append((run_id, t_s, tag, value, quality))
        if len(self._buffer) >= self.batch_size or (
            self.max_buffer_age_s is not None
            and self._monotonic() - (self._buffer_since or 0.0) >= self.max_buffer_age_s
        ):
            self.flush()

    def discard_buffer(self) -> int:
        """Forget the buffered samples (their writer keeps them elsewhere); returns how many."""
        dropped = len(self._buffer)
        self._buffer = []
        self._buffer_since = None
        return dropped

    def flush(self) -> int:
        """Write buffered samples in bulk; returns the number of rows written."""
        if not self._buffer:
            return 0
        self._write_samples(self._buffer)
        written = len(self._buffer)
        self._buffer = []
        self._buffer_since = None
        return written

    async def flush_async(self) -> int:
        """Like :meth:`flush`, but the database write runs in a worker thread so the
        scan loop keeps ticking (samples added meanwhile go to a new buffer).  For
        a loop that only uses this, construct with ``max_buffer_age_s=None`` and a
        large ``batch_size`` so that :meth:`add_sample` never writes by itself."""
        if not self._buffer:
            return 0
        rows, self._buffer, self._buffer_since = self._buffer, [], None
        try:
            await asyncio.to_thread(self._write_samples, rows)
        except BaseException:
            self._buffer[:0] = rows  # keep them for the next attempt
            self._buffer_since = self._monotonic()
            raise
        return len(rows)

    def _write_samples(self, rows: list[tuple[int, float, str, float | None, str]]) -> None:
        # The DBAPI's executemany straight away: SQLAlchemy's per-row parameter processing
        # was a tenth of the simulator's scan time (bench/sim_speed.py). Plain column
        # values (int, float, str, None) need none of it.
        marker = {"qmark": "?", "format": "%s", "pyformat": "%s"}[self._engine.dialect.paramstyle]
        sql = (f"INSERT INTO {_SAMPLES.name} ({', '.join(_SAMPLE_COLUMNS)}) "
               f"VALUES ({', '.join([marker] * len(_SAMPLE_COLUMNS))})")
        rollups = _minute_rollups(rows)
        with self._begin() as conn:  # samples and their rollups in one transaction
            for start in range(0, len(rows), self.batch_size):
                conn.exec_driver_sql(sql, rows[start : start + self.batch_size])
            conn.execute(_rollup_upsert(self._engine.dialect.name), rollups)
        self.samples_written += len(rows)

    # ------------------------------------------------------- read helpers
    def load_batch_record(self, run_id: int) -> BatchRecord:
        return load_batch_record(self._engine, run_id)

    def trend(
        self,
        run_id: int,
        tag: str,
        t_from_s: float | None = None,
        t_to_s: float | None = None,
        max_points: int = 1000,
    ) -> list[TrendPoint]:
        """Downsampled series of persisted samples (call :meth:`flush` first for the newest)."""
        return trend(self._engine, run_id, tag, t_from_s, t_to_s, max_points)


# ======================================================================== read
class _Record(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)


class RunInfo(_Record):
    id: int
    line_id: str
    recipe_id: str
    recipe_version: int
    line_kind: str
    parameters: dict[str, Any]
    operator: str
    simulated: bool
    time_origin: datetime
    started_at: datetime
    ended_at: datetime | None
    ended_t_s: float | None
    final_state: str | None
    scan_stats: dict[str, Any] | None = None
    end_reason: str | None = None
    quality: dict[str, Any] | None = None  # verdict against the recipe's specification

    def timestamp(self, t_s: float) -> datetime:
        """Wall time of run second ``t_s``."""
        return self.time_origin + timedelta(seconds=t_s)


class StepRecord(_Record):
    index: int
    name: str
    started_s: float
    ended_s: float | None
    outcome: str | None


class CommandRecord(_Record):
    command: str
    user: str
    t_s: float
    accepted: bool
    reason: str | None


class AlarmEventRecord(_Record):
    t_s: float
    state: str
    actor: str | None
    note: str | None


class AlarmRecord(_Record):
    alarm_id: str
    message: str
    priority: str
    state: str
    raised_t_s: float
    cleared_t_s: float | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    shelved_until_t_s: float | None
    events: list[AlarmEventRecord]


class DeviationRecord(_Record):
    """Production with outputs forced safe by ``alarm_ids`` from ``started_t_s`` to ``ended_t_s``."""

    started_t_s: float
    ended_t_s: float
    alarm_ids: list[str]
    outputs: list[str]

    @property
    def seconds(self) -> float:
        return self.ended_t_s - self.started_t_s


class BatchRecord(_Record):
    run: RunInfo
    steps: list[StepRecord]
    commands: list[CommandRecord]
    alarms: list[AlarmRecord]
    deviations: list[DeviationRecord]
    sample_count: int
    tags: list[str]


@dataclass(frozen=True)
class TrendPoint:
    """One bucket ``[t_s, t_end_s)`` of a downsampled series (``count`` non-null values)."""

    t_s: float
    t_end_s: float
    count: int
    avg: float | None
    min: float | None
    max: float | None


@contextmanager
def _session(source: Session | Engine) -> Iterator[Session]:
    if isinstance(source, Session):
        yield source
        return
    with Session(source) as session:
        yield session


def load_batch_record(source: Session | Engine, run_id: int) -> BatchRecord:
    with _session(source) as session:
        run = session.get(Run, run_id, options=[selectinload(Run.steps), selectinload(Run.commands)])
        if run is None:
            raise LookupError(f"run {run_id} not found")
        alarms = (
            session.execute(
                select(Alarm).where(Alarm.run_id == run_id).options(selectinload(Alarm.events)).order_by(Alarm.id)
            )
            .scalars()
            .all()
        )
        tag_counts = session.execute(
            select(Sample.tag, func.count()).where(Sample.run_id == run_id).group_by(Sample.tag).order_by(Sample.tag)
        ).all()
        deviations = session.execute(
            select(RunDeviation).where(RunDeviation.run_id == run_id).order_by(RunDeviation.started_t_s, RunDeviation.id)
        ).scalars()
        return BatchRecord(
            run=RunInfo.model_validate(run),
            steps=[StepRecord.model_validate(s) for s in run.steps],
            commands=[CommandRecord.model_validate(c) for c in run.commands],
            alarms=[AlarmRecord.model_validate(a) for a in alarms],
            deviations=[DeviationRecord.model_validate(d) for d in deviations],
            sample_count=sum(count for _, count in tag_counts),
            tags=[tag for tag, _ in tag_counts],
        )


EXPORT_CHUNK_ROWS = 5000  # samples per read of an export: a short read transaction, a few hundred kB of CSV
EXPORT_LAYOUTS = ("long", "wide")
_LONG_HEADER = ("t_s", "timestamp", "tag", "value", "quality")


class CsvExport:
    """A run's samples as CSV text, read in bounded chunks: iterate it for the pieces.

    * ``layout="long"``: ``t_s,timestamp,tag,value,quality``, one row per sample, ordered by
      tag, then time, then insertion.
    * ``layout="wide"``: ``timestamp,t_s,<tag>...``, one row per instant (distinct ``t_s``) in
      time order, one column per tag (in the database's order of tag names); a cell is the
      tag's value at that instant, empty when the tag has no sample then, its value is null or
      its quality is not good (the long layout keeps every sample with its quality); two
      samples of one tag at one instant: the later written wins.

    Samples are read by keyset pagination, per tag on ``(t_s, id)``, at most ``chunk_rows``
    rows a read (the wide layout reads every tag at once, ``chunk_rows`` over them all, at
    least 256 a tag). Given an Engine, every read takes a connection of its own and gives it
    back before the next, so no transaction spans the export: on SQLite the runtime's
    historian writes meanwhile (samples it commits during the export appear if their tag
    and time are still ahead of the export's position). Given a Session, the reads run in
    its transaction, the caller's choice. The first piece (the header and the first rows)
    comes after one read; memory is bounded by a chunk, never by the run.

    The run's time origin is read on construction: ``LookupError`` if there is no such run.
    """

    def __init__(
        self,
        source: Session | Engine,
        run_id: int,
        *,
        tags: Iterable[str] | None = None,
        layout: str = "long",
        chunk_rows: int = EXPORT_CHUNK_ROWS,
    ) -> None:
        if layout not in EXPORT_LAYOUTS:
            raise ValueError(f"layout must be one of {EXPORT_LAYOUTS}, got {layout!r}")
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be >= 1")
        self._source = source
        self.run_id = run_id
        self.layout = layout
        self.chunk_rows = chunk_rows
        self._tags = None if tags is None else sorted(set(tags))
        self.chunks_read = 0  # sample reads so far (the tag look-ups not counted)
        self.samples = 0  # samples exported so far
        self.rows = 0  # CSV rows so far, the header not counted (long: one per sample)
        origin = self._read(lambda c: c.execute(select(Run.time_origin).where(Run.id == run_id)).scalar_one_or_none())
        if origin is None:
            raise LookupError(f"run {run_id} not found")
        self.time_origin: datetime = origin

    def __iter__(self) -> Iterator[str]:
        return self._long() if self.layout == "long" else self._wide()

    # ---------------------------------------------------------------- reads
    def _read(self, query: Callable[[Connection | Session], Any]) -> Any:
        """One read: on a connection of its own (an Engine), or in the caller's Session."""
        if isinstance(self._source, Session):
            return query(self._source)
        with self._source.connect() as conn:
            return query(conn)

    def _next_tag(self, after: str | None) -> str | None:
        """The run's first tag after ``after`` in the database's order (one index seek)."""
        stmt = select(Sample.tag).where(Sample.run_id == self.run_id).order_by(Sample.tag).limit(1)
        if after is not None:
            stmt = stmt.where(Sample.tag > after)
        if self._tags is not None:
            stmt = stmt.where(Sample.tag.in_(self._tags))
        tag: str | None = self._read(lambda c: c.execute(stmt).scalar_one_or_none())
        return tag

    def _all_tags(self) -> Iterator[str]:
        tag = self._next_tag(None)
        while tag is not None:
            yield tag
            tag = self._next_tag(tag)

    def _chunk(self, tag: str, after: tuple[float, int] | None, limit: int) -> list[Any]:
        """Up to ``limit`` samples (t_s, id, value, quality) of ``tag`` after ``after`` (t_s, id)."""
        stmt = (
            select(Sample.t_s, Sample.id, Sample.value, Sample.quality)
            .where(Sample.run_id == self.run_id, Sample.tag == tag)
            .order_by(Sample.t_s, Sample.id)
            .limit(limit)
        )
        if after is not None:
            # a range on the index's t_s, the tie on id filtered inside it
            stmt = stmt.where(Sample.t_s >= after[0], (Sample.t_s > after[0]) | (Sample.id > after[1]))
        rows = self._read(lambda c: c.execute(stmt).all())
        self.chunks_read += 1
        return list(rows)

    def _series(self, tag: str, limit: int) -> Iterator[list[Any]]:
        """``tag``'s samples, chunk by chunk (the last one may be empty)."""
        after: tuple[float, int] | None = None
        while True:
            rows = self._chunk(tag, after, limit)
            yield rows
            if len(rows) < limit:
                return
            after = (rows[-1][0], rows[-1][1])

    # --------------------------------------------------------------- layouts
    def _timestamp(self, t_s: float) -> str:
        return (self.time_origin + timedelta(seconds=t_s)).isoformat()

    def _long(self) -> Iterator[str]:
        pieces = _Pieces()
        out = csv.writer(pieces)
        out.writerow(_LONG_HEADER)
        origin = self.time_origin
        for tag in self._all_tags():
            for rows in self._series(tag, self.chunk_rows):
                out.writerows(
                    [repr(t_s), (origin + timedelta(seconds=t_s)).isoformat(), tag,
                     "" if value is None else repr(value), quality]
                    for t_s, _id, value, quality in rows
                )
                self.samples += len(rows)
                self.rows += len(rows)
                if pieces:
                    yield pieces.take()
        if pieces:  # the header of a run without samples
            yield pieces.take()

    def _wide(self) -> Iterator[str]:
        tags = list(self._all_tags())
        pieces = _Pieces()
        out = csv.writer(pieces)
        out.writerow(["timestamp", "t_s", *tags])
        per_tag = max(256, self.chunk_rows // max(1, len(tags)))
        series = [self._series(tag, per_tag) for tag in tags]
        pending: list[list[tuple[float, int, str]]] = [[] for _ in tags]  # (t_s, tag index, cell) each
        ends: list[float | None] = [None] * len(tags)  # last t_s read of a tag; None: the tag is read to its end

        def refill(k: int) -> None:
            rows = next(series[k], [])
            self.samples += len(rows)
            pending[k].extend((t_s, k, repr(value) if value is not None and quality == "good" else "")
                              for t_s, _id, value, quality in rows)
            ends[k] = rows[-1][0] if len(rows) == per_tag else None

        for k in range(len(tags)):
            refill(k)
        while True:
            open_ends = [end for end in ends if end is not None]
            horizon = min(open_ends) if open_ends else None
            # every instant before the horizon is complete: no tag can have more samples there
            ready: list[tuple[float, int, str]] = []
            for items in pending:
                cut = len(items) if horizon is None else _count_before(items, horizon)
                ready.extend(items[:cut])
                del items[:cut]
            ready.sort(key=lambda item: (item[0], item[1]))  # stable: a tag's later sample last
            cells = [""] * len(tags)
            current: float | None = None
            for t_s, k, cell in ready:
                if current is not None and t_s != current:
                    out.writerow([self._timestamp(current), repr(current), *cells])
                    self.rows += 1
                    cells = [""] * len(tags)
                current = t_s
                cells[k] = cell
            if current is not None:
                out.writerow([self._timestamp(current), repr(current), *cells])
                self.rows += 1
            if pieces:
                yield pieces.take()
            if horizon is None:
                return
            for k, end in enumerate(ends):
                if end is not None and end <= horizon:
                    refill(k)


class _Pieces(list[str]):
    """What a ``csv.writer`` writes, kept until :meth:`take` joins it into one piece."""

    def write(self, text: str) -> int:
        self.append(text)
        return len(text)

    def take(self) -> str:
        text = "".join(self)
        self.clear()
        return text


def _count_before(items: list[tuple[float, int, str]], horizon: float) -> int:
    """How many of ``items`` (ordered by t_s) lie before ``horizon`` (bisection)."""
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        if items[mid][0] < horizon:
            lo = mid + 1
        else:
            hi = mid
    return lo


def export_csv(
    source: Session | Engine,
    run_id: int,
    out: TextIO | str | Path,
    *,
    tags: Iterable[str] | None = None,
    layout: str = "long",
    chunk_rows: int = EXPORT_CHUNK_ROWS,
) -> int:
    """Write the run's samples as CSV (:class:`CsvExport`: long-format
    ``t_s,timestamp,tag,value,quality`` ordered by tag then time, or ``layout="wide"``), in
    bounded chunks; returns the number of samples written."""
    if isinstance(out, (str, Path)):
        with open(out, "w", newline="", encoding="utf-8") as fh:
            return export_csv(source, run_id, fh, tags=tags, layout=layout, chunk_rows=chunk_rows)
    export = CsvExport(source, run_id, tags=tags, layout=layout, chunk_rows=chunk_rows)
    for piece in export:
        out.write(piece)
    return export.samples


def trend(
    source: Session | Engine,
    run_id: int,
    tag: str,
    t_from_s: float | None = None,
    t_to_s: float | None = None,
    max_points: int = 1000,
) -> list[TrendPoint]:
    """At most ``max_points`` buckets over ``[t_from_s, t_to_s]`` (default: the tag's
    whole series), each with count/avg/min/max of the non-null values.  Empty buckets
    are omitted.

    * Windows narrower than ``max_points`` minutes: buckets of equal width
      ``(t_to_s - t_from_s) / max_points``, computed in SQL from the samples.  Bucket
      ``k`` holds ``floor((t - t_from_s) / width) == k``; the closing instant ``t_to_s``
      belongs to the last bucket.
    * Wider windows: buckets of whole minutes on the run's minute grid (the fewest
      minutes per bucket that keep to ``max_points``), computed from the per-minute
      rollups, and from the samples only for the partial minutes at the window's two
      ends; a bucket's ``t_s``/``t_end_s`` are clipped to the window.  Statistics are
      exact either way: only samples inside the window count."""
    if max_points < 1:
        raise ValueError("max_points must be >= 1")
    with _session(source) as session:
        if t_from_s is None or t_to_s is None:
            # one aggregate per subquery: each is a single seek into the (run_id, tag, t_s, ...)
            # index, where min() and max() together in one SELECT would scan the whole series
            series = (Sample.run_id == run_id, Sample.tag == tag)
            lo, hi = session.execute(
                select(
                    select(func.min(Sample.t_s)).where(*series).scalar_subquery(),
                    select(func.max(Sample.t_s)).where(*series).scalar_subquery(),
                )
            ).one()
            if lo is None:
                return []
            t_from_s = lo if t_from_s is None else t_from_s
            t_to_s = hi if t_to_s is None else t_to_s
        if t_to_s < t_from_s:
            raise ValueError("t_to_s must be >= t_from_s")
        if (t_to_s - t_from_s) / max_points >= ROLLUP_S:
            return _trend_from_rollups(session, run_id, tag, t_from_s, t_to_s, max_points)
        width = (t_to_s - t_from_s) / max_points or 1.0
        scaled = (Sample.t_s - t_from_s) / width
        if session.get_bind().dialect.name == "postgresql":
            bucket_expr = cast(func.floor(scaled), Integer)
        else:  # CAST truncates toward zero == floor, since t_s >= t_from_s
            bucket_expr = cast(scaled, Integer)
        inner = (
            select(bucket_expr.label("bucket"), Sample.value.label("value"))
            .where(
                Sample.run_id == run_id,
                Sample.tag == tag,
                Sample.t_s >= t_from_s,
                Sample.t_s <= t_to_s,
            )
            .subquery()
        )
        rows = session.execute(
            select(
                inner.c.bucket,
                func.count(inner.c.value),
                func.avg(inner.c.value),
                func.min(inner.c.value),
                func.max(inner.c.value),
            )
            .group_by(inner.c.bucket)
            .order_by(inner.c.bucket)
        ).all()
    return _to_points(rows, t_from_s, width, max_points)


def _trend_from_rollups(
    session: Session, run_id: int, tag: str, t_from_s: float, t_to_s: float, max_points: int
) -> list[TrendPoint]:
    """:func:`trend` for a window of at least ``max_points`` minutes (see there)."""
    m_from, m_to = math.floor(t_from_s / ROLLUP_S), math.floor(t_to_s / ROLLUP_S)
    per_bucket = -(-(m_to - m_from + 1) // max_points)  # minutes per bucket (ceiling)
    m_lo, m_hi = math.ceil(t_from_s / ROLLUP_S), m_to - 1  # the minutes wholly inside the window
    buckets: dict[int, list[Any]] = {}  # k -> [count, sum, min, max]

    def merge(k: int, count: int, total: float, vmin: float | None, vmax: float | None) -> None:
        entry = buckets.get(k)
        if entry is None:
            buckets[k] = [count, total, vmin, vmax]
            return
        entry[0] += count
        entry[1] += total
        entry[2] = _opt(min, entry[2], vmin)
        entry[3] = _opt(max, entry[3], vmax)

    series = (Sample.run_id == run_id, Sample.tag == tag)
    if m_lo <= m_hi:
        k = ((SampleRollup.minute - m_from) // per_bucket).label("k")
        for bucket, count, total, vmin, vmax in session.execute(
            select(k, func.sum(SampleRollup.value_count), func.sum(SampleRollup.value_sum),
                   func.min(SampleRollup.value_min), func.max(SampleRollup.value_max))
            .where(SampleRollup.run_id == run_id, SampleRollup.tag == tag,
                   SampleRollup.minute >= m_lo, SampleRollup.minute <= m_hi)
            .group_by(k)
        ):
            merge(int(bucket), int(count), float(total), _float(vmin), _float(vmax))
        # the partial minutes at both ends, each range with one lower and one upper bound
        # (SQLite's index range takes one of each)
        edges = [(Sample.t_s >= t_from_s, Sample.t_s < m_lo * ROLLUP_S),
                 (Sample.t_s >= m_to * ROLLUP_S, Sample.t_s <= t_to_s)]
    else:  # no whole minute: every sample of the window
        edges = [(Sample.t_s >= t_from_s, Sample.t_s <= t_to_s)]
    for edge in edges:
        for t_s, value in session.execute(select(Sample.t_s, Sample.value).where(*series, *edge)):
            k_raw = (math.floor(t_s / ROLLUP_S) - m_from) // per_bucket
            if value is None:
                merge(k_raw, 0, 0.0, None, None)
            else:
                merge(k_raw, 1, value, value, value)
    width_s = per_bucket * ROLLUP_S
    origin_s = float(m_from * ROLLUP_S)
    return [
        TrendPoint(max(t_from_s, origin_s + k * width_s), min(t_to_s, origin_s + (k + 1) * width_s),
                   count, total / count if count else None, vmin, vmax)
        for k, (count, total, vmin, vmax) in sorted(buckets.items())
    ]


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _to_points(rows: Sequence[Any], t_from_s: float, width: float, max_points: int) -> list[TrendPoint]:
    buckets: dict[int, tuple[int, float | None, float | None, float | None]] = {}
    for bucket, count, avg, vmin, vmax in rows:
        # the closing instant t_to_s falls in bucket max_points: fold it into the last one
        k = min(int(bucket), max_points - 1)
        count = int(count)
        avg, vmin, vmax = _float(avg), _float(vmin), _float(vmax)
        if k in buckets:
            c0, a0, lo0, hi0 = buckets[k]
            total = c0 + count
            avg = None if total == 0 else ((a0 or 0.0) * c0 + (avg or 0.0) * count) / total
            count, vmin, vmax = total, _opt(min, lo0, vmin), _opt(max, hi0, vmax)
        buckets[k] = (count, avg, vmin, vmax)
    return [
        TrendPoint(t_from_s + k * width, t_from_s + (k + 1) * width, count, avg, vmin, vmax)
        for k, (count, avg, vmin, vmax) in sorted(buckets.items())
    ]


def _opt(fn: Callable[[float, float], float], a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return fn(a, b)
