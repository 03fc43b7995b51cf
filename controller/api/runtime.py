"""The line at run time: owns the controller engine and the built-in simulated plant.

One engine scans at a time, as an asyncio background task (``Engine.run`` with no end
state, so it keeps scanning between runs and the live tags stay fresh).  Starting a run
builds a fresh simulated line for the recipe on a sped-up wall clock and replaces the
previous one; a lock makes two concurrent starts produce exactly one run.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine as DbEngine

from controller.engine import Engine
from controller.procedure import CompiledRecipe
from controller.simulation import build_simulated_line, line_for_kind
from controller.states import TERMINAL, Command, CommandRejected, UnitState, accepted_commands
from controller.store import BatchRecorder
from controller.store.models import utc_now
from drivers.clock import WallClock
from drivers.line import Line
from drivers.lines import LineDefinition
from drivers.sim_transport import SimTransport
from simulator.casting import CastingPlant

log = logging.getLogger(__name__)

_STARTABLE = frozenset({UnitState.IDLE}) | TERMINAL


class RuntimeClock(WallClock):
    """A sped-up wall clock whose ``sleep_until`` always yields to the event loop, so a
    scan loop that is behind catches up without starving the API."""

    async def sleep_until(self, t_s: float) -> None:
        delay_s = (t_s - self.now_s()) / self._speed
        await asyncio.sleep(max(0.0, delay_s))


class ApiRecorder(BatchRecorder):
    """The batch recorder, told who caused an alarm transition (the engine reports the
    transition without the user; the runtime sets ``actor`` around an acknowledge)."""

    actor: str | None = None

    def log_alarm(self, run_id, alarm_id, message, priority, state, t_s, *, user=None):  # type: ignore[no-untyped-def,override]
        super().log_alarm(run_id, alarm_id, message, str(priority), state, t_s, user=user or self.actor)


class RunBusy(Exception):
    """A run is already active: a second start is refused."""

    def __init__(self, state: UnitState) -> None:
        super().__init__(f"a run is already active (state {state.value}); one run at a time")
        self.state = state


@dataclass(slots=True)
class _Sim:
    definition: LineDefinition
    plant: CastingPlant
    line: Line
    engine: Engine
    start_pending: bool = False
    shelved_until_t_s: dict[str, float] = field(default_factory=dict)


class LineRuntime:
    def __init__(
        self,
        db: DbEngine,
        *,
        speed: float = 1.0,
        scan_period_s: float = 1.0,
        sample_period_s: float = 10.0,
        seed: int = 0,
        line_kind: str = "casting",
    ) -> None:
        self.recorder = ApiRecorder(db)
        self.speed = speed
        self.scan_period_s = scan_period_s
        self.sample_period_s = sample_period_s
        self.seed = seed
        self.line_kind = line_kind
        self.lock = asyncio.Lock()
        self.scanned_at: datetime | None = None
        self.error: str | None = None
        self._sim: _Sim | None = None
        self._task: asyncio.Task[Any] | None = None

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Build the idle line (no recipe loaded) and start scanning it."""
        definition, control = line_for_kind(self.line_kind)
        clock = RuntimeClock(self.speed)
        plant = CastingPlant(definition, seed=self.seed)
        transport = SimTransport(plant, clock, tuple(d.name for d in definition.devices))
        line = Line(definition, [transport])
        engine = Engine(line, control, clock, scan_period_s=self.scan_period_s,
                        sample_period_s=self.sample_period_s, recorder=self.recorder)
        await self._switch(_Sim(definition, plant, line, engine))

    async def close(self) -> None:
        await self._stop_scanning()
        try:
            self.recorder.flush()
        except Exception:  # noqa: BLE001 - closing: log, do not mask the shutdown
            log.exception("final flush of the batch recorder failed")

    async def _stop_scanning(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._task = None
        if self._sim is not None:
            await self._sim.line.close()

    async def _switch(self, sim: _Sim) -> None:
        await self._stop_scanning()
        await sim.line.connect()
        self._sim = sim
        self.error = None
        self._task = asyncio.create_task(self._scan_forever(sim), name="poreline-scan")

    async def _scan_forever(self, sim: _Sim) -> None:
        try:
            await sim.engine.run(until=frozenset(), on_scan=lambda _e: self._after_scan(sim))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - keep the API up; report in the status
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
    def plant(self) -> CastingPlant:
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

    # ------------------------------------------------------------- commands
    async def start_run(self, recipe: CompiledRecipe, user: str) -> None:
        """Start ``recipe`` on a fresh simulated line; raises :class:`RunBusy`."""
        async with self.lock:
            busy = self.busy_state()
            if busy is not None:
                raise RunBusy(busy)
            built = build_simulated_line(
                recipe, seed=self.seed, scan_period_s=self.scan_period_s,
                sample_period_s=self.sample_period_s, recorder=self.recorder,
                clock=RuntimeClock(self.speed), operator=user,
            )
            sim = _Sim(built.definition, built.plant, built.line, built.engine, start_pending=True)
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
        self.sim.shelved_until_t_s[alarm_id] = until_s
        return now_s, until_s

    def active_alarms(self) -> list[dict[str, Any]]:
        engine = self.engine
        alarms: list[dict[str, Any]] = []
        for a in engine.alarms.annunciated():
            d = a.definition
            alarms.append({"alarm_id": d.alarm_id, "message": d.message, "priority": d.priority,
                           "state": a.state.value, "raised_t_s": a.raised_t_s, "shelved_until_t_s": None})
        for alarm_id in list(self.sim.shelved_until_t_s):
            if alarm_id not in engine.alarms:
                continue
            a = engine.alarms.get(alarm_id)
            if a.state.value != "shelved":
                del self.sim.shelved_until_t_s[alarm_id]
                continue
            d = a.definition
            alarms.append({"alarm_id": d.alarm_id, "message": d.message, "priority": d.priority,
                           "state": "shelved", "raised_t_s": a.raised_t_s,
                           "shelved_until_t_s": a.shelved_until_s})
        return alarms

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
