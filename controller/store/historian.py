"""The historian writer: the batch record off the scan path.

A line runtime's engine records through :class:`HistorianWriter` (it implements the
engine's ``RunRecorder``): every call numbers the event, appends it to a bounded queue and
returns at once, so a slow, locked or unreachable database never delays a scan. A writer
thread commits the events in order through a :class:`BatchRecorder`, samples in batches,
each transaction together with the line's progress mark (``historian_progress``).

When the database fails, the writer spools the events it holds to a local file (JSON
lines, in order) and keeps spooling new ones; it retries every ``retry_s`` and, once the
database answers, replays the spool in order, skipping what the progress mark says was
already committed (a replay never writes an event twice), then truncates it.

A database that neither answers nor fails (a lock held by another program, a link that
hangs without data, a disk stalled) counts as failed once a call has lasted ``stall_s``:
the database calls run in a thread of their own, the writer stops waiting for a call that
outlasts ``stall_s``, spools what that call was writing and everything after it, and makes
no other database call until the stalled one has returned. The stalled call may still
commit; the replay then skips what it committed (the progress mark), so nothing is written
twice. From the moment a call stalls, a longer outage changes nothing but the spool's size.
:meth:`HistorianWriter.status` tells the runtime how far behind the record is, so it can
raise its alarm ("batch record behind: N events spooled") and, when the spool is full, hold.

What can be lost (the largest data-loss window): the events not yet committed nor
spooled when the runtime process is killed. An event waits at most ``flush_period_s`` in
the queue (steps, commands, alarms and the end of a run wake the writer at once) and then
at most ``stall_s`` in a database call before it is spooled (the spool is fsynced), so a
kill loses at most ``flush_period_s + stall_s`` of samples (3 s of wall time by default;
a database that answers in milliseconds: ``flush_period_s``). A clean stop drains the
queue first. When the spool is full, new samples are counted as
dropped (and reported) while events (steps, commands, alarms, the end of a run) are kept
in memory up to the queue's bound.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.store.batch import DEFAULT_LINE_ID, BatchRecorder

log = logging.getLogger(__name__)

SAMPLES = "samples"  # the event kind of one scan's samples
# assumption: 60 tags every 10 s for 24 h is 518 400 rows, about 35 MB of JSON lines; 256 MiB
# holds a day of a line sampled every 2 s.
DEFAULT_SPOOL_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_QUEUE_MAX_EVENTS = 100_000  # assumption: a day of 1 s samples fits without a spool
DEFAULT_STALL_S = 2.0  # assumption: a healthy commit of a flush period's events takes milliseconds


class DatabaseStalled(Exception):
    """A database call outlasted the writer's ``stall_s`` (it goes on in its thread)."""


class _DatabaseThread:
    """The one thread that makes the writer's database calls, one at a time, so that the
    writer can stop waiting for a call that hangs while the call itself goes on."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._current: Future[Any] | None = None
        self._thread: threading.Thread | None = None

    def busy(self) -> bool:
        return self._current is not None and not self._current.done()

    def call(self, function: Callable[[], Any], timeout_s: float) -> Any:
        """``function()`` in the database thread; :class:`DatabaseStalled` when it has not
        returned after ``timeout_s``, or at once while an earlier call has not returned."""
        if self.busy():
            raise DatabaseStalled("an earlier database call has not returned yet")
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()
        future: Future[Any] = Future()
        self._current = future
        self._calls.put((function, future))
        try:
            return future.result(timeout_s)
        except TimeoutError:
            raise DatabaseStalled(f"a database call has not returned after {timeout_s:g} s") from None

    def close(self) -> None:
        if self._thread is not None:
            self._calls.put(None)

    def _run(self) -> None:
        while True:
            item = self._calls.get()
            if item is None:
                return
            function, future = item
            try:
                future.set_result(function())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                future.set_exception(exc)


@dataclass(frozen=True, slots=True)
class HistorianStatus:
    queued: int  # events in memory: waiting in the queue or being written
    spooled: int  # events in the spool file (the record is behind by these)
    spool_bytes: int
    spool_full: bool
    dropped_samples: int  # sample events not recorded (queue or spool full); never silent
    last_error: str
    committed_seq: int  # the last event committed to the database

    @property
    def behind(self) -> bool:
        return self.spooled > 0


class HistorianWriter:
    """Queue → writer thread → database, with a spool file while the database is away."""

    def __init__(self, recorder: BatchRecorder, *, spool_path: Path, line_id: str = DEFAULT_LINE_ID,
                 flush_period_s: float = 1.0, retry_s: float = 2.0, samples_per_commit: int = 5000,
                 queue_max_events: int = DEFAULT_QUEUE_MAX_EVENTS,
                 spool_max_bytes: int = DEFAULT_SPOOL_MAX_BYTES, stall_s: float = DEFAULT_STALL_S) -> None:
        self._recorder = recorder
        self.line_id = line_id
        self._spool_path = spool_path
        self._flush_period_s = flush_period_s
        self._retry_s = retry_s
        self._stall_s = stall_s
        self._database = _DatabaseThread(f"historian-{line_id}")
        self._samples_per_commit = samples_per_commit
        self._queue_max = queue_max_events
        self._spool_max_bytes = spool_max_bytes
        self._queue: deque[tuple[int, str, tuple[Any, ...]]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._lock = threading.Lock()  # guards the counters below
        self._seq = 0
        self._spooled = 0
        self._dropped = 0
        self._last_error = ""
        self._committed = 0
        self._thread: threading.Thread | None = None
        self._in_flight = 0  # events the thread has taken from the queue and not yet written or spooled

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Resume numbering after what the database and the spool hold, then start writing."""
        spool_last = self._spool_last_seq()
        try:
            self._committed = self._recorder.progress(self.line_id)
        except Exception as exc:  # noqa: BLE001 - the database may be away at start: the spool says enough
            self._last_error = f"{type(exc).__name__}: {exc}"
        self._seq = max(self._committed, spool_last)
        self._spooled = self._count_spooled()
        self._thread = threading.Thread(target=self._run, name=f"historian-{self.line_id}-queue", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Drain the queue (to the database or the spool) and stop the thread."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("historian writer did not stop within %.0f s; %d events in memory", timeout_s,
                          len(self._queue))
        self._database.close()

    def status(self) -> HistorianStatus:
        with self._lock:
            spool_bytes = self._spool_path.stat().st_size if self._spool_path.exists() else 0
            return HistorianStatus(queued=len(self._queue) + self._in_flight, spooled=self._spooled, spool_bytes=spool_bytes,
                                   spool_full=spool_bytes >= self._spool_max_bytes, dropped_samples=self._dropped,
                                   last_error=self._last_error, committed_seq=self._committed)

    def wait_idle(self, timeout_s: float) -> bool:
        """True once the queue and the spool are empty (for a clean stop and for tests)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self.status()
            if status.queued == 0 and status.spooled == 0:
                return True
            self._wake.set()
            time.sleep(0.01)
        return False

    # ------------------------------------------------ RunRecorder (scan side)
    def start_run(self, *args: Any, **kwargs: Any) -> int:
        raise RuntimeError("a runtime opens its runs before START (open_run), never from the scan")

    def log_step_started(self, run_id: int, index: int, name: str, t_s: float) -> None:
        self._put("log_step_started", (run_id, index, name, t_s))

    def log_step_ended(self, run_id: int, index: int, t_s: float, outcome: str) -> None:
        self._put("log_step_ended", (run_id, index, t_s, outcome))

    def log_command(self, run_id: int, command: str, user: str, t_s: float, accepted: bool, reason: str) -> None:
        self._put("log_command", (run_id, command, user, t_s, accepted, reason))

    def log_alarm(self, run_id: int | None, alarm_id: str, message: str, priority: int | str, state: str,
                  t_s: float, *, line_id: str = DEFAULT_LINE_ID, user: str | None = None, note: str | None = None,
                  shelved_until_t_s: float | None = None) -> None:
        self._put("log_alarm", (run_id, alarm_id, message, str(priority), state, t_s, line_id, user, note,
                                shelved_until_t_s))

    def log_deviation(self, run_id: int, started_t_s: float, ended_t_s: float, alarm_ids: list[str],
                      outputs: list[str]) -> None:
        self._put("log_deviation", (run_id, started_t_s, ended_t_s, list(alarm_ids), list(outputs)))

    def add_samples(self, run_id: int, t_s: float, samples: list[tuple[str, float | None, str]]) -> None:
        if len(self._queue) >= self._queue_max or self.status().spool_full:
            with self._lock:
                self._dropped += 1
            return
        self._put(SAMPLES, (run_id, t_s, [list(s) for s in samples]))

    def audit(self, actor: str, action: str, subject: str, details: dict[str, Any]) -> None:
        """An audit entry, written in order with the batch record (spooled like it)."""
        self._put("audit", (actor, action, subject, details))

    def close_runless_alarms(self, note: str) -> None:
        """Return the line's open run-less alarm occurrences to normal, in order with the
        events before (the engine that raised them was replaced)."""
        self._put("close_runless_alarms", (note, self.line_id))

    def close_lost_runs(self) -> None:
        """Close the runs of the line a killed runtime left open, after the events before
        (:meth:`BatchRecorder.close_lost_runs`)."""
        self._put("close_lost_runs", (self.line_id,))

    def record_quality(self, run_id: int, quality: dict[str, Any]) -> None:
        self._put("record_quality", (run_id, quality))

    def record_scan_stats(self, run_id: int, stats: dict[str, Any]) -> None:
        self._put("record_scan_stats", (run_id, stats))

    def flush(self) -> None:
        self._wake.set()

    def end_run(self, run_id: int, final_state: str, t_s: float) -> None:
        self._put("end_run", (run_id, final_state, t_s))
        self._wake.set()

    def _put(self, kind: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            self._seq += 1
            self._queue.append((self._seq, kind, args))
        if kind != SAMPLES:
            self._wake.set()

    # ------------------------------------------------------- writer thread
    def _run(self) -> None:
        while True:
            self._wake.wait(self._flush_period_s)
            self._wake.clear()
            stopping = self._stopping
            if self._spooled:
                self._drain_spool()
            batch = self._take()
            if batch:
                if self._spooled:  # still behind: keep the order, append to the spool
                    self._spool(batch)
                else:
                    self._write_or_spool(batch)
            with self._lock:
                self._in_flight = 0
            if stopping and not self._queue:
                return

    def _take(self) -> list[tuple[int, str, tuple[Any, ...]]]:
        batch: list[tuple[int, str, tuple[Any, ...]]] = []
        with self._lock:
            self._in_flight = len(self._queue)
            while self._queue:
                batch.append(self._queue.popleft())
        return batch

    def _write_or_spool(self, batch: list[tuple[int, str, tuple[Any, ...]]]) -> None:
        start = 0
        while start < len(batch):
            end = self._chunk_end(batch, start)
            try:
                self._commit(batch[start:end])
            except Exception as exc:  # noqa: BLE001 - any database failure: spool, retry later
                self._failed(exc)
                self._spool(batch[start:])
                return
            start = end

    def _chunk_end(self, batch: list[tuple[int, str, tuple[Any, ...]]], start: int) -> int:
        """Consecutive sample events go in one commit (up to ``samples_per_commit`` rows);
        any other event commits alone."""
        if batch[start][1] != SAMPLES:
            return start + 1
        rows = 0
        end = start
        while end < len(batch) and batch[end][1] == SAMPLES and rows < self._samples_per_commit:
            rows += len(batch[end][2][2])
            end += 1
        return end

    def _commit(self, events: list[tuple[int, str, tuple[Any, ...]]]) -> None:
        """Commit ``events`` in the database thread; DatabaseStalled after ``stall_s``."""
        self._database.call(lambda: self._commit_now(events), self._stall_s)

    def _commit_now(self, events: list[tuple[int, str, tuple[Any, ...]]]) -> None:
        recorder = self._recorder
        try:
            with recorder.transaction(progress=(self.line_id, events[-1][0])):
                for _seq, kind, args in events:
                    if kind == SAMPLES:
                        run_id, t_s, samples = args
                        recorder.add_samples(run_id, t_s, [tuple(s) for s in samples])
                    elif kind == "log_alarm":
                        run_id, alarm_id, message, priority, state, t_s, line_id, user, note, until = args
                        recorder.log_alarm(run_id, alarm_id, message, priority, state, t_s, line_id=line_id,
                                           user=user, note=note, shelved_until_t_s=until)
                    else:
                        getattr(recorder, kind)(*args)
                recorder.flush()
        except BaseException:
            recorder.discard_buffer()  # the events are spooled; their buffered samples go with them
            raise
        with self._lock:
            self._committed = max(self._committed, events[-1][0])
            self._last_error = ""

    def _failed(self, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        if message != self._last_error:
            log.warning("historian: database write failed, spooling: %s", message)
        with self._lock:
            self._last_error = message

    # ----------------------------------------------------------- the spool
    def _spool(self, events: list[tuple[int, str, tuple[Any, ...]]]) -> None:
        self._spool_path.parent.mkdir(parents=True, exist_ok=True)
        with self._spool_path.open("a", encoding="utf-8") as spool:
            for seq, kind, args in events:
                spool.write(json.dumps([seq, kind, args], separators=(",", ":")) + "\n")
            spool.flush()
            os.fsync(spool.fileno())
        with self._lock:
            self._spooled += len(events)

    def _read_spool(self) -> list[tuple[int, str, tuple[Any, ...]]]:
        if not self._spool_path.exists():
            return []
        events = []
        with self._spool_path.open(encoding="utf-8") as spool:
            for line in spool:
                if line.strip():
                    seq, kind, args = json.loads(line)
                    events.append((int(seq), str(kind), tuple(args)))
        return events

    def _spool_last_seq(self) -> int:
        events = self._read_spool()
        return events[-1][0] if events else 0

    def _count_spooled(self) -> int:
        return len(self._read_spool())

    def _drain_spool(self) -> None:
        """Replay the spool in order once the database answers; drop what is committed."""
        try:
            committed = int(self._database.call(lambda: self._recorder.progress(self.line_id), self._stall_s))
        except Exception as exc:  # noqa: BLE001 - still away: try again after retry_s
            self._failed(exc)
            self._wake.wait(self._retry_s)
            return
        pending = [e for e in self._read_spool() if e[0] > committed]
        start = 0
        while start < len(pending):
            end = self._chunk_end(pending, start)
            try:
                self._commit(pending[start:end])
            except Exception as exc:  # noqa: BLE001 - away again: keep the rest spooled
                self._failed(exc)
                self._rewrite_spool(pending[start:])
                return
            start = end
        self._spool_path.unlink(missing_ok=True)
        with self._lock:
            self._spooled = 0
        log.info("historian: the spool is replayed; the batch record is current")

    def _rewrite_spool(self, events: list[tuple[int, str, tuple[Any, ...]]]) -> None:
        partial = self._spool_path.with_suffix(".tmp")
        with partial.open("w", encoding="utf-8") as spool:
            for seq, kind, args in events:
                spool.write(json.dumps([seq, kind, args], separators=(",", ":")) + "\n")
            spool.flush()
            os.fsync(spool.fileno())
        partial.replace(self._spool_path)
        with self._lock:
            self._spooled = len(events)


def historian_alarms(status: HistorianStatus) -> Mapping[str, str]:
    """The runtime's words for the writer's state (alarm id -> message), empty when current."""
    alarms: dict[str, str] = {}
    if status.behind:
        alarms["HISTORIAN_BEHIND"] = (f"batch record behind: {status.spooled} events spooled "
                                      f"({status.last_error or 'database unreachable'})")
    if status.spool_full:
        alarms["HISTORIAN_SPOOL_FULL"] = f"historian spool full ({status.spool_bytes} bytes): samples are dropped"
    return alarms
