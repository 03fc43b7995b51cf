"""The line at run time: owns the controller engine and the line it scans.

Two kinds of line:

* the built-in simulator (no plant file): the idle line is the simulated line of
  ``line_kind``; starting a run builds a fresh simulated line for the recipe's line kind
  on a sped-up wall clock and replaces the previous one;
* a plant file (``poreline serve --plant``): the controller's line reaches the devices the
  plant file names (Modbus/OPC UA) for the line kind the file declares, on a wall clock
  (speed 1 for real plants), and no simulator is created.

Both are built by the one assembly point, :func:`controller.assembly.build_line`. Starting a
run builds a fresh engine (and connection) on a fresh clock, so run seconds start at 0; on a
plant file a recipe for another line kind is refused (:class:`LineKindMismatch`).

One engine scans at a time, as an asyncio background task (``Engine.run`` with no end
state, so it keeps scanning between runs and the live tags stay fresh).  A lock makes two
concurrent starts produce exactly one run.

Alarm journal: the engine reports every alarm transition to :class:`ApiRecorder`, also
between runs (run id None); those run-less occurrences are journaled with Unix epoch
seconds, as the store's convention says.  When a run replaces the line, the run-less
occurrences the old engine left open are closed (the new engine starts with no alarms and
raises again whatever still stands).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine as DbEngine

from controller.assembly import build_line, load_plant_config, resolve_kind
from controller.assembly.plant_file import assignments, plant_line_control
from controller.engine.scan import Engine
from controller.engine.states import TERMINAL, Command, CommandRejected, UnitState, accepted_commands
from controller.lines import LineKind, default_kind, kind_named
from controller.recipe.model import CompiledRecipe
from controller.store import BatchRecorder
from controller.store.batch import DEFAULT_LINE_ID
from controller.store.models import utc_now
from drivers.clock import WallClock
from drivers.definition import LineDefinition
from drivers.line import Line

if TYPE_CHECKING:
    from simulator.plant import SimulatedPlant

log = logging.getLogger(__name__)

_STARTABLE = frozenset({UnitState.IDLE}) | TERMINAL
STOP_TIMEOUT_S = 10.0  # wall seconds to stop a scan task or close a line


class RuntimeClock(WallClock):
    """A sped-up wall clock whose ``sleep_until`` always yields to the event loop, so a
    scan loop that is behind catches up without starving the API."""

    async def sleep_until(self, t_s: float) -> None:
        delay_s = (t_s - self.now_s()) / self._speed
        await asyncio.sleep(max(0.0, delay_s))


class ApiRecorder(BatchRecorder):
    """The batch recorder, told who caused an alarm transition (the engine reports the
    transition without the user; the runtime sets ``actor`` around an acknowledge).

    Transitions without a run (``run_id`` None: the line is idle or between runs) are
    journaled too, with Unix epoch seconds instead of run seconds."""

    actor: str | None = None

    def log_alarm(self, run_id: int | None, alarm_id: str, message: str, priority: int | str, state: str,
                  t_s: float, *, user: str | None = None, line_id: str = DEFAULT_LINE_ID, note: str | None = None,
                  shelved_until_t_s: float | None = None) -> None:
        super().log_alarm(run_id, alarm_id, message, str(priority), state, t_s, user=user or self.actor,
                          line_id=line_id, note=note, shelved_until_t_s=shelved_until_t_s)


def checked_line_kind(plant_file: Path | str | None, line_kind: str | None) -> LineKind:
    """The line kind the runtime will drive: the plant file's ``line`` (else ``line_kind``,
    else the default kind), after checking the file can be used for it (every device of the
    line on exactly one endpoint, its interlock settings). Raises PlantConfigError or
    ValueError (unknown kind) naming the problem."""
    kind = default_kind() if line_kind is None else kind_named(line_kind)
    if plant_file is None:
        return kind
    kind = resolve_kind(kind, None, plant_file)
    config = load_plant_config(plant_file)
    definition = kind.definition()
    assignments(config, definition, str(plant_file))
    plant_line_control(config, kind, definition, str(plant_file))
    return kind


class RunBusy(Exception):
    """A run is already active: a second start is refused."""

    def __init__(self, state: UnitState) -> None:
        super().__init__(f"a run is already active (state {state.value}); one run at a time")
        self.state = state


class LineKindMismatch(Exception):
    """The recipe is for another line kind than the plant the runtime drives."""

    def __init__(self, recipe_kind: str, plant_kind: str, state: UnitState) -> None:
        super().__init__(f"recipe is for a {recipe_kind} line; the plant file drives a {plant_kind} line")
        self.state = state


@dataclass(slots=True)
class _Sim:
    """The line being scanned: its definition, the simulated plant (None: a real plant
    reached through a plant file), the driver line and the engine."""

    definition: LineDefinition
    plant: SimulatedPlant | None
    line: Line
    engine: Engine
    start_pending: bool = False


class LineRuntime:
    def __init__(
        self,
        db: DbEngine,
        *,
        speed: float = 1.0,
        scan_period_s: float = 1.0,
        sample_period_s: float = 10.0,
        seed: int = 0,
        line_kind: str | None = None,
        plant_file: Path | str | None = None,
    ) -> None:
        """``plant_file``: drive the devices it names instead of the built-in simulator
        (raises :class:`controller.assembly.plant_file.PlantConfigError` for a file that cannot be
        used, ValueError for an unknown line kind). ``speed``: simulated seconds per wall
        second of the clock (1 for real plants)."""
        self.recorder = ApiRecorder(db)
        self.speed = speed
        self.scan_period_s = scan_period_s
        self.sample_period_s = sample_period_s
        self.seed = seed
        self.plant_file = Path(plant_file) if plant_file is not None else None
        self.kind = checked_line_kind(self.plant_file, line_kind)
        self.line_kind = self.kind.name
        self.lock = asyncio.Lock()
        self.scanned_at: datetime | None = None
        self.error: str | None = None
        self._sim: _Sim | None = None
        self._task: asyncio.Task[Any] | None = None

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Build the idle line (no recipe loaded) and start scanning it."""
        await self._switch(self._build(None, "operator"))

    def _build(self, recipe: CompiledRecipe | None, user: str) -> _Sim:
        """A fresh line and engine on a fresh clock, with ``recipe`` loaded if given."""
        built = build_line(kind=None if recipe is not None else self.kind, recipe=recipe, plant_file=self.plant_file,
                           clock=RuntimeClock(self.speed), recorder=self.recorder, seed=self.seed,
                           scan_period_s=self.scan_period_s, sample_period_s=self.sample_period_s, operator=user)
        return _Sim(built.definition, built.plant, built.line, built.engine)

    async def close(self) -> None:
        await self._stop_scanning()
        try:
            self.recorder.flush()
        except Exception:
            log.exception("final flush of the batch recorder failed")

    async def _stop_scanning(self) -> None:
        """Stop the scan task and close its line (each bounded: a device that does not
        answer must not hang a start or a shutdown)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await asyncio.wait_for(self._task, timeout=STOP_TIMEOUT_S)
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping: nothing to report
                pass
            self._task = None
        if self._sim is not None:
            try:
                await asyncio.wait_for(self._sim.line.close(), timeout=STOP_TIMEOUT_S)
            except (TimeoutError, Exception):
                log.warning("closing the line did not finish cleanly", exc_info=True)

    def _close_runless_alarms(self) -> None:
        """A run replaces the line: journal the end of the run-less alarm occurrences left
        open (the new engine raises again whatever still stands, under the run)."""
        try:
            self.recorder.close_runless_alarms("closed: the line was rebuilt to start a run", self.definition.name)
        except Exception:
            log.exception("closing the run-less alarms in the journal failed")

    async def _switch(self, sim: _Sim) -> None:
        """Connect ``sim``'s line, then stop the old scan and scan ``sim`` (connecting first
        leaves no gap in the heartbeat a plant's watchdog watches)."""
        try:
            await sim.line.connect()
        except BaseException:
            await sim.line.close()
            raise
        await self._stop_scanning()
        self._sim = sim
        self.error = None
        self._task = asyncio.create_task(self._scan_forever(sim), name="poreline-scan")

    async def _scan_forever(self, sim: _Sim) -> None:
        if sim.start_pending:  # in the scan task, like every journal write of the engine
            self._close_runless_alarms()
        try:
            await sim.engine.run(until=frozenset(), on_scan=lambda _e: self._after_scan(sim))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("scan loop stopped")
            self.error = f"scan loop stopped: {type(exc).__name__}: {exc}"

    def _after_scan(self, sim: _Sim) -> None:
        self.scanned_at = utc_now()
        if sim.start_pending and sim.engine.state is not UnitState.IDLE:
            sim.start_pending = False

    # --------------------------------------------------------------- access
    @property
    def sim(self) -> _Sim:
        if self._sim is None:
            raise RuntimeError("line runtime not started")
        return self._sim

    @property
    def engine(self) -> Engine:
        return self.sim.engine

    @property
    def plant(self) -> SimulatedPlant | None:
        """The simulated plant; None when the line is a real plant (plant file)."""
        return self.sim.plant

    @property
    def definition(self) -> LineDefinition:
        return self.sim.definition

    def busy_state(self) -> UnitState | None:
        """The state that makes a new start impossible, or None when one may start."""
        sim = self.sim
        state = sim.engine.state
        if sim.start_pending:
            return UnitState.STARTING
        return None if state in _STARTABLE else state

    def epoch_s(self, t_s: float) -> float:
        """Unix epoch seconds of engine clock time ``t_s`` (run-less alarms are journaled
        in epoch seconds)."""
        return time.time() + (t_s - self.engine.clock.now_s()) / self.speed

    # ------------------------------------------------------------- commands
    async def start_run(self, recipe: CompiledRecipe, user: str) -> None:
        """Start ``recipe`` on a fresh line; raises :class:`RunBusy` or :class:`LineKindMismatch`."""
        async with self.lock:
            busy = self.busy_state()
            if busy is not None:
                raise RunBusy(busy)
            kind = recipe.header.line_kind
            if self.plant_file is not None and kind != self.line_kind:
                raise LineKindMismatch(kind, self.line_kind, self.engine.state)
            sim = self._build(recipe, user)
            sim.start_pending = True
            sim.engine.request(Command.START, user)
            await self._switch(sim)

    def command(self, command: Command, user: str) -> UnitState:
        """Queue a PackML command; raises CommandRejected (-> 409) when it does not fit."""
        if command is Command.START:
            raise CommandRejected(command, self.engine.state)
        return self.engine.request(command, user)

    def acknowledge(self, alarm_id: str, user: str) -> None:
        """Raises KeyError (unknown alarm) or ValueError (nothing to acknowledge)."""
        self.recorder.actor = user
        try:
            self.engine.acknowledge(alarm_id, user)
        finally:
            self.recorder.actor = None

    def shelve(self, alarm_id: str, user: str, duration_s: float) -> tuple[float, float]:
        """Shelve an alarm for ``duration_s`` process seconds; returns (now_s, until_s)."""
        engine = self.engine
        now_s = engine.clock.now_s()
        until_s = now_s + duration_s
        self.recorder.actor = user
        try:
            engine.alarms.shelve(alarm_id, now_s, until_s, user)
        finally:
            self.recorder.actor = None
        return now_s, until_s

    def active_alarms(self) -> list[dict[str, Any]]:
        """The annunciated alarms, then the shelved ones (shown as shelved, with their expiry)."""
        alarms = self.engine.alarms
        return [{"alarm_id": a.definition.alarm_id, "message": a.definition.message,
                 "priority": a.definition.priority, "state": "shelved" if shelved else a.state.value,
                 "raised_t_s": a.raised_t_s, "shelved_until_t_s": a.shelved_until_s if shelved else None}
                for shelved, group in ((False, alarms.annunciated()), (True, alarms.shelved())) for a in group]

    def status(self) -> dict[str, Any]:
        engine = self.engine
        st = engine.status()
        state = UnitState.STARTING if self.sim.start_pending else st.state
        return {
            "state": state.value, "run_id": st.run_id, "recipe_id": st.recipe_id,
            "recipe_version": st.recipe_version, "t_s": st.t_s, "step_index": st.step_index,
            "step_name": st.step_name, "step_elapsed_s": st.step_elapsed_s,
            "accepted_commands": [c.value for c in accepted_commands(state) if c is not Command.START],
            "alarms": self.active_alarms(), "simulator_error": self.error,
        }
