"""The scan-cycle engine: read all inputs, evaluate, write changed outputs, wait.

One scan, as on a PLC:
1. read every device (transports concurrently) into the flat process image;
2. take the queued operator commands and the alarms' actions through the PackML state
   machine; run the acting state's actions or, in Execute, the recipe's current step;
3. run the PID loops, then force the outputs of tripped interlocks to their safe values;
   watch the loops for a frozen measurement or a heater that cannot lift its measurement
   (``controller.engine.loop_watch``);
4. write only the outputs that changed; sample the historian when its period is due.

Every reading's readback of the outputs is checked against what was last written
(``controller.engine.readback``): an output changed behind the controller's back is
alarmed and written again.

Time comes from the injected clock, so the same code runs on a virtual clock against the
in-process simulator and on a wall clock against hardware.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from controller.engine.alarms import ActiveAlarm, AlarmEvent, AlarmManager, AlarmState
from controller.engine.deviation import DeviationTracker, ProductionDeviation
from controller.engine.loop_watch import LoopWatch, LoopWatcher
from controller.engine.pid import Pid
from controller.engine.ratio import RatioStation
from controller.engine.readback import ReadbackVerifier
from controller.engine.recording import RunRecorder
from controller.engine.soft_sensors import RecipeExtensions, SoftSensor
from controller.engine.specification import SpecificationCheck
from controller.engine.states import (
    RESTARTING_COMMANDS,
    STATE_COMPLETE,
    TERMINAL,
    Command,
    CommandRejected,
    UnitState,
    next_state,
)
from controller.recipe.conditions import compile_condition
from controller.recipe.control import LineControl, StandingAlarm
from controller.recipe.model import (
    AlarmAction,
    AlarmDefinition,
    CompiledRecipe,
    Condition,
    LoopAction,
    LoopMode,
    OnTimeout,
    RampAction,
    RatioAction,
    SetAction,
    Step,
)
from drivers.clock import Clock
from drivers.line import Line
from drivers.profiles import HoldAction
from drivers.transport import Quality, TransportError

log = logging.getLogger(__name__)

_ACTION_COMMAND = {
    AlarmAction.HOLD: Command.HOLD,
    AlarmAction.STOP: Command.STOP,
    AlarmAction.ABORT: Command.ABORT,
}
_TIMEOUT_COMMAND = {
    OnTimeout.HOLD: Command.HOLD,
    OnTimeout.STOP: Command.STOP,
    OnTimeout.ABORT: Command.ABORT,
}
_OUTPUTS_SAFE_STATES = frozenset({UnitState.STOPPING, UnitState.STOPPED,
                                  UnitState.ABORTING, UnitState.ABORTED, UnitState.CLEARING})
# states in which the hold keeps the hold-safe drives at their safe values
_HELD_STATES = frozenset({UnitState.HOLDING, UnitState.HELD, UnitState.SUSPENDING, UnitState.SUSPENDED})


@dataclass(slots=True)
class StepProgress:
    """Where the procedure is. Timers count Execute time only, so a hold freezes them."""

    index: int = -1
    elapsed_s: float = 0.0  # time spent executing this step
    timeout_elapsed_s: float = 0.0  # restarted when a timeout-hold is unheld
    condition_true_s: float | None = None  # None: the transition condition is false
    timed_out: bool = False


@dataclass(slots=True)
class StepLogEntry:
    index: int
    name: str
    started_s: float
    ended_s: float | None = None
    outcome: str = ""


@dataclass(slots=True)
class Ramp:
    target: float
    rate_per_s: float


@dataclass(frozen=True, slots=True)
class LoopFaceplate:
    """What a loop's faceplate shows: its mode, setpoint and output, the measurement it
    controls and the output it drives, and what holds that output safe now."""

    loop: str
    mode: LoopMode
    setpoint: float
    output: float
    measurement: str  # device.tag
    output_address: str
    output_low: float
    output_high: float
    forced_by: tuple[str, ...]  # latched interlocks forcing its output safe
    held_safe: bool  # its output is a drive the hold keeps at its safe value


class FaceplateRefused(ValueError):
    """A faceplate action the line does not take now (409), with the reason."""


@dataclass(slots=True)
class EngineStatus:
    state: UnitState
    t_s: float
    recipe_id: str | None
    recipe_version: int | None
    step_index: int
    step_name: str | None
    step_elapsed_s: float
    run_id: int | None
    alarms: list[dict[str, object]] = field(default_factory=list)


class Engine:
    def __init__(
        self,
        line: Line,
        control: LineControl,
        clock: Clock,
        *,
        scan_period_s: float = 1.0,
        sample_period_s: float = 10.0,
        recorder: RunRecorder | None = None,
        operator: str = "operator",
        simulated: bool = True,
        comm_loss_action: AlarmAction = AlarmAction.HOLD,
        comm_loss_after_reads: int = 2,
        extensions: RecipeExtensions | None = None,
        loop_watch: Mapping[str, LoopWatch] | None = None,
    ) -> None:
        """``extensions``: the line kind's soft sensors and recipe-dependent alarms for each
        recipe loaded (None: a line without any). ``loop_watch``: per loop, how its
        measurement and heater are watched (a loop not named: the defaults of
        ``controller.engine.loop_watch``). ``comm_loss_after_reads``: a device's COMM alarm
        (and its action) is raised after this many consecutive failed reads, one per scan,
        so that one lost poll is not a trip (the "attempts before timeout" of OPC servers
        such as Kepware); the device's quality is bad from the first failed read, so what
        is sampled is marked and no loop or readback judges on it meanwhile."""
        if scan_period_s <= 0 or sample_period_s <= 0:
            raise ValueError("scan and sample periods must be positive")
        if comm_loss_after_reads < 1:
            raise ValueError("comm_loss_after_reads must be at least 1")
        self.line = line
        self.control = control
        self.clock = clock
        self.scan_period_s = scan_period_s
        self.sample_period_s = sample_period_s
        self.recorder = recorder
        self.operator = operator
        self.simulated = simulated
        self.comm_loss_action = comm_loss_action
        self.comm_loss_after_reads = comm_loss_after_reads
        self.extensions = extensions

        self.state = UnitState.IDLE
        self.recipe: CompiledRecipe | None = None
        self.run_id: int | None = None
        self.progress = StepProgress()
        self.step_log: list[StepLogEntry] = []
        self.command_log: list[tuple[float, str, str, bool, str]] = []
        self.scan_count = 0

        definition = line.definition
        self._keys: dict[str, dict[str, str]] = {
            d.name: {t.name: f"{d.name}.{t.name}" for t in d.profile.tags} for d in definition.devices
        }
        self._output_device: dict[str, tuple[str, str]] = {}
        self._safe: dict[str, float] = {}
        self._hold_safe: set[str] = set()
        for d in definition.devices:
            for t in d.profile.outputs:
                address = f"{d.name}.{t.name}"
                self._output_device[address] = (d.name, t.name)
                assert t.safe_value is not None
                self._safe[address] = t.safe_value
                if t.hold_action is HoldAction.SAFE:
                    self._hold_safe.add(address)

        self.image: dict[str, float] = {}
        self.quality: dict[str, Quality] = {d.name: Quality.BAD_COMM for d in definition.devices}
        self._reported_quality: dict[str, Quality] = {}  # the quality each device's readings last had
        self._failed_reads: dict[str, int] = {}  # consecutive reads that were not GOOD, per device
        self.outputs: dict[str, float] = {}
        self._written: dict[str, float] = {}
        self._ramps: dict[str, Ramp] = {}
        self._commanded: dict[str, float] = {}  # what the procedure (or a faceplate) last commanded per output
        self._hold_snapshot: dict[str, float] = {}
        self._pending: list[tuple[Command, str, str]] = []  # (command, user, reason)
        self._opened_run_id: int | None = None
        self._recording = False  # a run's batch record is open: samples go to it
        self._deviation = DeviationTracker()
        self.deviations: list[ProductionDeviation] = []  # the run's production deviations so far (closed ones)
        self.specification = SpecificationCheck(())  # the product against the recipe's specification
        self._last_scan_s: float | None = None
        self._next_sample_s = 0.0
        self._last_sample_s: float | None = None  # the line time of the last sample taken

        self.loops: dict[str, Pid] = {}
        self._loop_io: dict[str, tuple[str, str]] = {}
        for loop in control.loops:
            out_tag = definition.tag(loop.output)
            definition.tag(loop.pv)  # raises for an unknown measurement
            self.loops[loop.name] = Pid(
                gain=loop.gain, integral_time_s=loop.integral_time_s,
                derivative_time_s=loop.derivative_time_s, output_low=out_tag.low,
                output_high=out_tag.high, direct_acting=loop.direct_acting,
                output=out_tag.safe_value or 0.0,
            )
            self._loop_io[loop.name] = (loop.pv, loop.output)
        self.ratios: dict[str, RatioStation] = {}
        self._ratio_io: dict[str, tuple[str, str]] = {}
        self._ratio_trim: dict[str, str] = {ratio.name: ratio.trim for ratio in control.ratios if ratio.trim}
        for ratio in control.ratios:
            out_tag = definition.tag(ratio.output)
            self.ratios[ratio.name] = RatioStation(scale=ratio.scale, output_low=out_tag.low, output_high=out_tag.high,
                                                   output=out_tag.safe_value or 0.0)
            self._ratio_io[ratio.name] = (ratio.wild, ratio.output)
        self._readback = ReadbackVerifier(definition)
        self._loop_watch = LoopWatcher(control.loops, self.loops, definition, loop_watch)

        self.alarms = AlarmManager(self._on_alarm_event)
        known = frozenset(self._all_addresses())
        self._standing_ids: set[str] = set()
        for standing in control.alarms:
            self.alarms.define(_alarm_definition(standing, known))
            self._standing_ids.add(standing.alarm_id)
        self._step_listeners: list[Callable[[StepLogEntry], None]] = []
        self.soft_sensors: list[SoftSensor] = []
        self._derived_keys: list[str] = []

    # ----------------------------------------------------------------- public API

    @property
    def derived_addresses(self) -> tuple[str, ...]:
        """The derived tags the loaded recipe's soft sensors compute."""
        return tuple(self._derived_keys)

    def _all_addresses(self) -> list[str]:
        return [key for keys in self._keys.values() for key in keys.values()]

    @property
    def step(self) -> Step | None:
        if self.recipe is None or not 0 <= self.progress.index < len(self.recipe.steps):
            return None
        return self.recipe.steps[self.progress.index]

    def load(self, recipe: CompiledRecipe) -> None:
        """Load a compiled recipe; only while Idle."""
        if self.state is not UnitState.IDLE:
            raise CommandRejected(Command.START, self.state)
        if recipe.header.line_kind != self.line.definition.kind:
            raise ValueError(f"recipe is for a {recipe.header.line_kind} line, "
                             f"this is a {self.line.definition.kind} line")
        self.alarms.remove_all_except(self._standing_ids)
        for definition in recipe.alarms:
            self.alarms.define(definition)
        line_definition = self.line.definition
        self.soft_sensors = [] if self.extensions is None else self.extensions.soft_sensors(recipe, line_definition)
        self._derived_keys = [a for sensor in self.soft_sensors for a in sensor.addresses]
        undeclared = [a for a in self._derived_keys if not line_definition.is_derived(a)]
        if undeclared:
            raise ValueError(f"soft sensors write undeclared tags: {', '.join(undeclared)} (declare them as "
                             f"derived tags of line {line_definition.name})")
        known = frozenset(self._all_addresses() + self._derived_keys)
        if self.extensions is not None:
            for alarm in self.extensions.recipe_alarms(recipe, line_definition):
                self.alarms.define(_alarm_definition(alarm, known))
        conditions = [a.condition for a in recipe.alarms] + [s.transition.condition for s in recipe.steps]
        uncomputed = sorted({a for c in conditions for a in c.addresses} - known)
        if uncomputed:  # a declared derived tag this recipe's soft sensors do not compute
            raise ValueError(f"recipe conditions name {', '.join(uncomputed)}, which no soft sensor of this run "
                             "computes")
        for step in recipe.steps:  # a ratio station's wild flow must be something this engine knows
            for action in step.actions:
                if isinstance(action, RatioAction) and self._ratio_io[action.station][0] not in known:
                    raise ValueError(f"step {step.name}: ratio station {action.station} needs "
                                     f"{self._ratio_io[action.station][0]}, which nothing measures or estimates")
        self.recipe = recipe

    def request(self, command: Command | str, user: str = "operator", *, reason: str = "",
                run_id: int | None = None) -> UnitState:
        """Queue a command for the next scan. Raises CommandRejected at once when the
        command does not fit the state the unit will be in (so an API can answer 409).
        ``reason``: the operator's, kept with the command in the batch record. ``run_id``
        (START): the batch record already opened for this run (a line runtime opens it
        off the scan); without it the recorder opens one when the run starts."""
        command = Command(command)
        state = self._state_after_pending()
        if command is Command.START and self.recipe is None:
            self._log_command(command, user, False, "no recipe loaded")
            raise CommandRejected(command, state)
        try:
            target = next_state(state, command)
        except CommandRejected:
            self._log_command(command, user, False, f"not accepted in {state.value}")
            raise
        if command in RESTARTING_COMMANDS:
            blocking = self.alarms.blocking_restart()
            if blocking:
                reason = f"{command.value} refused: " + "; ".join(_blocking_reason(a) for a in blocking)
                self._log_command(command, user, False, reason)
                raise CommandRejected(command, state, reason)
        if command is Command.START:
            self._opened_run_id = run_id
        self._pending.append((command, user, reason))
        return target

    def status(self) -> EngineStatus:
        step = self.step
        return EngineStatus(
            state=self.state, t_s=self.clock.now_s(),
            recipe_id=self.recipe.header.recipe_id if self.recipe else None,
            recipe_version=self.recipe.header.version if self.recipe else None,
            step_index=self.progress.index, step_name=step.name if step else None,
            step_elapsed_s=self.progress.elapsed_s, run_id=self.run_id,
            alarms=[{"alarm_id": a.definition.alarm_id, "message": a.definition.message,
                     "priority": a.definition.priority, "state": a.state.value,
                     "raised_t_s": a.raised_t_s} for a in self.alarms.annunciated()],
        )

    def act_on_alarm(self, action: AlarmAction, alarm_id: str) -> None:
        """Carry out an alarm's action raised outside the scan's own evaluation (the runtime's
        supervision alarms): queued for the next scan with the alarm as its reason."""
        self._internal_command(action, f"alarm {alarm_id}")

    def shelve(self, alarm_id: str, user: str, until_s: float, reason: str) -> None:
        """Shelve an alarm until engine time ``until_s`` (it still acts; see AlarmManager)."""
        self.alarms.shelve(alarm_id, self.clock.now_s(), until_s, user, reason)
        self._log_command_text(f"shelve {alarm_id}", user, True, reason)

    def acknowledge(self, alarm_id: str, user: str) -> None:
        self.alarms.acknowledge(alarm_id, self.clock.now_s(), user)
        self._log_command_text(f"acknowledge {alarm_id}", user, True, "")

    def faceplate(self, loop: str) -> LoopFaceplate:
        return self._faceplate(loop, self._interlocked_outputs())

    def faceplates(self) -> list[LoopFaceplate]:
        """Every loop's faceplate, in the control's order (the latched interlocks looked at once)."""
        interlocked = self._interlocked_outputs()
        return [self._faceplate(loop, interlocked) for loop in self.loops]

    def _faceplate(self, loop: str, interlocked: Mapping[str, set[str]]) -> LoopFaceplate:
        pid = self.loops[loop]
        pv, output = self._loop_io[loop]
        return LoopFaceplate(loop=loop, mode=pid.mode, setpoint=pid.setpoint, output=self.outputs.get(output, pid.output),
                             measurement=pv, output_address=output, output_low=pid.output_low,
                             output_high=pid.output_high,
                             forced_by=tuple(sorted(a for a, outs in interlocked.items() if output in outs)),
                             held_safe=self.state in _HELD_STATES and output in self._hold_safe)

    def set_loop(self, action: LoopAction, user: str, reason: str = "") -> None:
        """A loop faceplate: mode, setpoint or manual output of one loop, applied at once
        (between scans) and logged like a command; the output goes out with the next scan.
        Refused (:class:`FaceplateRefused`, logged as refused) while the outputs are held safe
        (Stopping to Clearing), for a loop whose output a latched interlock forces safe or the
        hold keeps safe (except switching it off), and for a setpoint outside its measurement's
        range or an output outside the loop's limits (ValueError)."""
        if action.loop not in self.loops:
            raise KeyError(f"no loop {action.loop!r} (loops: {', '.join(self.loops)})")
        parts = [f"loop {action.loop} {action.mode.value}"]
        if action.setpoint is not None:
            parts.append(f"setpoint {action.setpoint:g}")
        if action.output is not None:
            parts.append(f"output {action.output:g}")
        text = " ".join(parts)
        try:
            self._check_faceplate(action)
        except ValueError:
            self._log_command_text(text, user, False, reason)
            raise
        self._apply(action)
        self._log_command_text(text, user, True, reason)

    def _check_faceplate(self, action: LoopAction) -> None:
        plate = self.faceplate(action.loop)
        if self.state in _OUTPUTS_SAFE_STATES:
            raise FaceplateRefused(f"the unit is {self.state.value}: every output is held safe; reset it first")
        if action.mode is not LoopMode.OFF and plate.forced_by:
            raise FaceplateRefused(f"loop {action.loop}: its output {plate.output_address} is forced safe by latched "
                                   f"interlock {', '.join(plate.forced_by)}; clear the interlock first")
        if action.mode is not LoopMode.OFF and plate.held_safe:
            raise FaceplateRefused(f"loop {action.loop}: its output {plate.output_address} is held safe while the unit "
                                   f"is {self.state.value}; unhold first")
        measured = self.line.definition.tag(plate.measurement)
        if action.setpoint is not None and not measured.low <= action.setpoint <= measured.high:
            raise ValueError(f"setpoint: {action.setpoint:g} is outside {plate.measurement}'s range "
                             f"{measured.low:g}..{measured.high:g} {measured.unit}")
        if action.output is not None and action.mode is not LoopMode.MANUAL:
            raise ValueError(f"output: a loop takes an output in manual only, not in {action.mode.value}")
        if action.output is not None and not plate.output_low <= action.output <= plate.output_high:
            raise ValueError(f"output: {action.output:g} is outside the loop's limits "
                             f"{plate.output_low:g}..{plate.output_high:g}")

    def on_step(self, listener: Callable[[StepLogEntry], None]) -> None:
        self._step_listeners.append(listener)

    async def run(
        self,
        *,
        until: frozenset[UnitState] = TERMINAL,
        max_duration_s: float | None = None,
        on_scan: Callable[[Engine], None] | None = None,
    ) -> UnitState:
        """Scan every ``scan_period_s`` until the unit reaches one of ``until``."""
        await self.line.connect()
        start_s = self.clock.now_s()
        next_scan_s = start_s
        while True:
            await self.scan()
            if on_scan is not None:
                on_scan(self)
            if self.state in until and not self._pending:
                return self.state
            if max_duration_s is not None and self.clock.now_s() - start_s >= max_duration_s:
                return self.state
            next_scan_s += self.scan_period_s
            await self.clock.sleep_until(next_scan_s)

    async def scan(self) -> None:
        now_s = self.clock.now_s()
        dt_s = self.scan_period_s if self._last_scan_s is None else now_s - self._last_scan_s
        self._last_scan_s = now_s
        self.scan_count += 1

        await self._read_inputs(now_s)
        self._readback.verify(now_s, self.image, self.quality, self._written, self.alarms)
        for sensor in self.soft_sensors:
            sensor.update(self.image, dt_s)
        actions = self.alarms.evaluate(self.image, now_s, dt_s,
                                       self.step.name if self.state is UnitState.EXECUTE and self.step else None)
        for action, alarm_id in zip(actions, self.alarms.raised, strict=True):
            self._internal_command(action, f"alarm {alarm_id}")
        self._process_commands(now_s)
        self._act(now_s, dt_s)
        self._run_loops(dt_s)
        forced = self._force_interlocks()
        self._track_deviation(now_s, forced)
        self._check_specification(now_s)
        self._loop_watch.check(now_s, self.image, self.quality, self.outputs, self.alarms)
        await self._write_outputs(now_s)
        await self.line.heartbeat(self.scan_count)  # watchdog; Line.heartbeat logs and swallows TransportError
        self._sample(now_s)
        if self.state in STATE_COMPLETE:
            self._enter(STATE_COMPLETE[self.state], now_s)

    # -------------------------------------------------------------- scan phases

    async def _read_inputs(self, now_s: float) -> None:
        readings = await self.line.read_inputs()
        image = self.image
        for device, reading in readings.items():
            keys = self._keys[device]
            for tag, value in reading.values.items():
                image[keys[tag]] = value
            previous = self._reported_quality.get(device)  # None before the device's first reading
            self.quality[device] = self._reported_quality[device] = reading.quality
            if reading.quality is Quality.GOOD:
                self._failed_reads[device] = 0
                if previous is not Quality.GOOD:
                    self._on_link_back(device, now_s)
                continue
            failed = self._failed_reads[device] = self._failed_reads.get(device, 0) + 1
            if failed == self.comm_loss_after_reads or (failed > self.comm_loss_after_reads
                                                        and reading.quality is not previous):
                self._on_link_lost(device, reading.quality, reading.error, now_s)
        if not self.outputs:  # first scan: adopt the plant's current outputs
            for address in self._output_device:
                if address in image:
                    self.outputs[address] = image[address]
                    self._written[address] = image[address]

    def _on_link_back(self, device: str, now_s: float) -> None:
        self.alarms.clear_external(f"COMM_{device.upper()}", now_s)
        # The device may have restarted or its watchdog may have driven it safe while
        # we could not see it: forget what we wrote so every output is written again, in
        # this very scan. (A restart the link never noticed shows as readbacks off what
        # was written: the readback check rewrites those, controller.engine.readback.)
        for address, (owner, _) in self._output_device.items():
            if owner == device:
                self._written.pop(address, None)

    def _on_link_lost(self, device: str, quality: Quality, error: str, now_s: float) -> None:
        alarm_id = f"COMM_{device.upper()}"
        action = self.alarms.raise_external(AlarmDefinition(
            alarm_id=alarm_id, message=f"{device}: communication lost ({error or quality.value})",
            priority=1, condition=_NEVER, action=self.comm_loss_action,
        ), now_s)
        if action is not None:
            self._internal_command(action, f"alarm {alarm_id}")

    def _internal_command(self, action: AlarmAction, reason: str) -> None:
        command = _ACTION_COMMAND.get(action)
        if command is None:
            return
        try:
            next_state(self._state_after_pending(), command)
        except CommandRejected:
            return  # e.g. a hold while already held
        self._pending.append((command, "system", reason))

    def _state_after_pending(self) -> UnitState:
        state = self.state
        for command, _user, _reason in self._pending:
            state = STATE_COMPLETE.get(next_state(state, command), state)
        return state

    def _process_commands(self, now_s: float) -> None:
        pending, self._pending = self._pending, []
        for command, user, reason in pending:
            try:
                target = next_state(self.state, command)
            except CommandRejected as exc:
                self._log_command(command, user, False, str(exc))
                continue
            if command is Command.START:
                self._start_run(now_s)
            self._log_command(command, user, True, reason)
            self._enter(target, now_s)

    def _enter(self, state: UnitState, now_s: float) -> None:
        previous = self.state
        self.state = state
        log.debug("%.1f s: %s -> %s", now_s, previous.value, state.value)
        if state is UnitState.HOLDING or state is UnitState.SUSPENDING:
            if previous not in (UnitState.HELD, UnitState.SUSPENDED):
                self._hold_snapshot = {a: self.outputs.get(a, self._safe[a]) for a in self._hold_safe}
            for address in self._hold_safe:
                self.outputs[address] = self._safe[address]
        elif state is UnitState.UNHOLDING or state is UnitState.UNSUSPENDING:
            self.outputs.update(self._hold_snapshot)
            self._hold_snapshot = {}
            self._restore_commanded()
            if self.progress.timed_out:
                self.progress.timeout_elapsed_s = 0.0
                self.progress.timed_out = False
        elif state in (UnitState.STOPPING, UnitState.ABORTING):
            self._to_safe()
            self._end_step(now_s, state.value.lower())
        elif state is UnitState.COMPLETE or state is UnitState.STOPPED or state is UnitState.ABORTED:
            self._finish_run(now_s)
        elif state is UnitState.RESETTING:
            self.progress = StepProgress()
            self.step_log = []
            self.run_id = None

    def _to_safe(self) -> None:
        for loop in self.loops.values():
            loop.set_mode(LoopMode.OFF, loop.output)
        for name, station in self.ratios.items():
            station.switch_off()
            station.track(self._safe[self._ratio_io[name][1]])
        self._ramps.clear()
        self._commanded.clear()
        self.outputs.update(self._safe)

    def _act(self, now_s: float, dt_s: float) -> None:
        if self.state is UnitState.EXECUTE:
            self._execute(now_s, dt_s)
        elif self.state in _OUTPUTS_SAFE_STATES:
            self.outputs.update(self._safe)

    # -------------------------------------------------------------- procedure

    def _execute(self, now_s: float, dt_s: float) -> None:
        assert self.recipe is not None
        progress = self.progress
        if progress.index < 0:
            self._enter_step(0, now_s)
            progress = self.progress  # the first step's own progress (and transition)
        else:
            progress.elapsed_s += dt_s
            progress.timeout_elapsed_s += dt_s
        self._advance_ramps(dt_s)
        step = self.recipe.steps[progress.index]
        transition = step.transition
        try:
            met = transition.condition.evaluate(self.image)
        except KeyError:  # a tag with no value yet (its device never answered): not met
            met = False
        if met:
            progress.condition_true_s = (0.0 if progress.condition_true_s is None
                                         else progress.condition_true_s + dt_s)
        else:
            progress.condition_true_s = None
        if progress.condition_true_s is not None and progress.condition_true_s >= transition.hold_for_s - 1e-9:
            self._next_step(now_s, "complete")
        elif progress.timeout_elapsed_s >= transition.timeout_s and not progress.timed_out:
            self._on_timeout(step, now_s)

    def _on_timeout(self, step: Step, now_s: float) -> None:
        on_timeout = step.transition.on_timeout
        message = (f"step {step.name}: transition '{step.transition.condition.source}' not met "
                   f"within {step.transition.timeout_s:g} s")
        if on_timeout is OnTimeout.CONTINUE:
            self._log_command_text(f"timeout {step.name}: continue", "system", True, message)
            self._next_step(now_s, "timeout")
            return
        self.progress.timed_out = True
        alarm_id = f"STEP_TIMEOUT_{step.name.upper()}"
        self.alarms.raise_external(AlarmDefinition(
            alarm_id=alarm_id, message=message, priority=2, condition=_NEVER,
            action=AlarmAction(on_timeout.value)), now_s)
        self.alarms.clear_external(alarm_id, now_s)  # an event, not a standing condition
        self._pending.append((_TIMEOUT_COMMAND[on_timeout], "system", f"alarm {alarm_id}"))
        self._process_commands(now_s)

    def _next_step(self, now_s: float, outcome: str) -> None:
        assert self.recipe is not None
        self._end_step(now_s, outcome)
        if self.progress.index + 1 < len(self.recipe.steps):
            self._enter_step(self.progress.index + 1, now_s)
        else:
            self._enter(UnitState.COMPLETING, now_s)

    def _enter_step(self, index: int, now_s: float) -> None:
        assert self.recipe is not None
        self.progress = StepProgress(index=index)
        step = self.recipe.steps[index]
        entry = StepLogEntry(index, step.name, now_s)
        self.step_log.append(entry)
        if self.recorder is not None and self.run_id is not None:
            self.recorder.log_step_started(self.run_id, index, step.name, now_s)
        for listener in self._step_listeners:
            listener(entry)
        for action in step.actions:
            self._apply(action)

    def _end_step(self, now_s: float, outcome: str) -> None:
        if not self.step_log or self.step_log[-1].ended_s is not None:
            return
        entry = self.step_log[-1]
        entry.ended_s = now_s
        entry.outcome = outcome
        if self.recorder is not None and self.run_id is not None:
            self.recorder.log_step_ended(self.run_id, entry.index, now_s, outcome)

    def _apply(self, action: SetAction | RampAction | LoopAction | RatioAction) -> None:
        if isinstance(action, RatioAction):
            station = self.ratios[action.station]
            output_address = self._ratio_io[action.station][1]
            self._ramps.pop(output_address, None)
            if action.on:
                station.track(self.outputs.get(output_address, self._safe[output_address]))
                station.switch_on(action.ratio, action.rate_per_s)
            else:
                station.switch_off()
                station.track(self._safe[output_address])
                self.outputs[output_address] = self._commanded[output_address] = self._safe[output_address]
        elif isinstance(action, SetAction):
            self._ramps.pop(action.address, None)
            self.outputs[action.address] = self._commanded[action.address] = action.value
        elif isinstance(action, RampAction):
            self._ramps[action.address] = Ramp(action.target, action.rate_per_s)
            self._commanded[action.address] = action.target
        else:
            pid = self.loops[action.loop]
            output_address = self._loop_io[action.loop][1]
            current = self.outputs.get(output_address, self._safe[output_address])
            pid.set_mode(action.mode, current)
            if action.setpoint is not None:
                pid.setpoint = action.setpoint
            if action.output is not None:
                pid.set_manual_output(action.output)
                self.outputs[output_address] = self._commanded[output_address] = pid.output
            elif action.mode is LoopMode.OFF:
                self.outputs[output_address] = self._commanded[output_address] = self._safe[output_address]

    def _restore_commanded(self) -> None:
        """Unholding: every output the procedure (or a faceplate) commanded and no loop in
        auto, ratio station or ramp drives goes back to its commanded value, so an output
        an interlock forced safe during the hold (and released since) runs again."""
        driven = {self._ratio_io[name][1] for name, station in self.ratios.items() if station.auto}
        for name, pid in self.loops.items():
            output_address = self._loop_io[name][1]
            if pid.mode is LoopMode.AUTO:
                driven.add(output_address)
            elif pid.mode is LoopMode.MANUAL and output_address in self._commanded:
                pid.set_manual_output(self._commanded[output_address])
        for address, value in self._commanded.items():
            if address not in driven and address not in self._ramps:
                self.outputs[address] = value

    def _advance_ramps(self, dt_s: float) -> None:
        done: list[str] = []
        for address, ramp in self._ramps.items():
            current = self.outputs.get(address, self._safe[address])
            step = ramp.rate_per_s * dt_s
            if abs(ramp.target - current) <= step:
                self.outputs[address] = ramp.target
                done.append(address)
            else:
                self.outputs[address] = current + step if ramp.target > current else current - step
        for address in done:
            del self._ramps[address]

    # ------------------------------------------------------ loops and interlocks

    def _run_loops(self, dt_s: float) -> None:
        if self.state in _OUTPUTS_SAFE_STATES:
            return
        image = self.image
        held = self.state in _HELD_STATES
        for name, pid in self.loops.items():
            if pid.mode is LoopMode.AUTO:
                pv_address, output_address = self._loop_io[name]
                if held and output_address in self._hold_safe:  # a held drive stays at its safe value
                    continue
                pv = image.get(pv_address)
                if pv is not None:
                    self.outputs[output_address] = pid.update(pv, dt_s)
        for name, station in self.ratios.items():
            if station.auto:
                wild_address, output_address = self._ratio_io[name]
                if held and output_address in self._hold_safe:  # ramps in again after the hold
                    station.track(self._safe[output_address])
                    continue
                trim_address = self._ratio_trim.get(name)
                trim = self.outputs.get(trim_address, 0.0) if trim_address else 0.0
                self.outputs[output_address] = station.update(image.get(wild_address, 0.0), dt_s, trim)

    def _interlocked_outputs(self) -> dict[str, set[str]]:
        """The outputs each latched interlock forces safe."""
        by_alarm: dict[str, set[str]] = {}
        for definition in self.alarms.latched_interlocks():
            outputs = by_alarm.setdefault(definition.alarm_id, set())
            for target in definition.force_safe:
                if "." in target:
                    outputs.add(target)
                else:
                    outputs.update(a for a, (device, _) in self._output_device.items() if device == target)
        return by_alarm

    def _force_interlocks(self) -> dict[str, set[str]]:
        """Force the outputs of every latched interlock safe; returns them per interlock."""
        by_alarm = self._interlocked_outputs()
        forced = set().union(*by_alarm.values())
        if not forced:
            return by_alarm
        for address in forced:
            self.outputs[address] = self._safe[address]
        for name, pid in self.loops.items():  # output tracking: no bump when released
            if self._loop_io[name][1] in forced:
                pid.output = self._safe[self._loop_io[name][1]]
        for name, station in self.ratios.items():  # ramps in again when released
            if self._ratio_io[name][1] in forced:
                station.track(self._safe[self._ratio_io[name][1]])
        return by_alarm

    def _track_deviation(self, now_s: float, forced: dict[str, set[str]]) -> None:
        if not self._recording:
            return
        producing = self.step is not None and self.step.production
        ended = self._deviation.update(now_s, {a: o for a, o in forced.items() if o}, producing=producing,
                                       executing=self.state is UnitState.EXECUTE)
        if ended is not None:
            self._log_deviation(ended)

    def _check_specification(self, now_s: float) -> None:
        if not self._recording:
            return
        producing = self.state is UnitState.EXECUTE and self.step is not None and self.step.production
        quality = self.quality
        self.specification.add(now_s, producing, self.image,
                               lambda address: quality.get(address.partition(".")[0], Quality.GOOD) is Quality.GOOD)

    def _log_deviation(self, deviation: ProductionDeviation) -> None:
        self.deviations.append(deviation)
        if self.recorder is not None and self.run_id is not None:
            self.recorder.log_deviation(self.run_id, deviation.started_t_s, deviation.ended_t_s,
                                        list(deviation.alarm_ids), list(deviation.outputs))

    async def _write_outputs(self, now_s: float) -> None:
        written = self._written
        changes: dict[str, dict[str, float]] = {}
        for address, value in self.outputs.items():
            if written.get(address) != value:
                device, tag = self._output_device[address]
                changes.setdefault(device, {})[tag] = value
        if not changes:
            return
        for device, values in changes.items():
            try:
                await self.line.write(device, values)
            except TransportError as exc:
                log.warning("write to %s failed: %s", device, exc)
                continue  # not marked written: retried next scan
            for tag, value in values.items():
                written[f"{device}.{tag}"] = value

    def _sample(self, now_s: float) -> None:
        if self.recorder is None or self.run_id is None or not self._recording or now_s < self._next_sample_s:
            return
        self._next_sample_s = now_s + self.sample_period_s - 1e-9
        self._last_sample_s = now_s
        image = self.image
        samples: list[tuple[str, float | None, str]] = []
        for device, keys in self._keys.items():
            quality = self.quality[device]
            good = quality is Quality.GOOD
            for address in keys.values():
                value = image.get(address)
                samples.append((address, value, quality.value if good or value is None else Quality.STALE.value))
        good_value = Quality.GOOD.value
        samples += [(address, image.get(address), good_value) for address in self._derived_keys]
        self.recorder.add_samples(self.run_id, now_s, samples)

    # -------------------------------------------------------------- batch record

    def _start_run(self, now_s: float) -> None:
        assert self.recipe is not None
        self.step_log = []
        self.deviations = []
        self._deviation = DeviationTracker()
        self.specification = SpecificationCheck(self.recipe.specification)
        self.progress = StepProgress()
        self._next_sample_s = now_s
        if self.recorder is not None:
            if self._opened_run_id is not None:
                self.run_id, self._opened_run_id = self._opened_run_id, None
            else:
                header = self.recipe.header
                parameters = {name: {"value": p.value, "unit": p.unit}
                              for name, p in self.recipe.parameters.items()}
                self.run_id = self.recorder.start_run(
                    header.recipe_id, header.version, header.line_kind, parameters,
                    self.operator, self.simulated, line_id=self.line.definition.name)
            self._recording = True
            for t_s, command, user, accepted, reason in self.command_log:
                self.recorder.log_command(self.run_id, command, user, t_s, accepted, reason)
        self.command_log = []

    def _finish_run(self, now_s: float) -> None:
        if self.recorder is not None and self.run_id is not None and self._recording:
            ended = self._deviation.close(now_s)
            if ended is not None:
                self._log_deviation(ended)
            self.recorder.record_quality(self.run_id, self.specification.report())
            self._sample_final(now_s)
            self._recording = False  # samples stop with the run
            self.recorder.end_run(self.run_id, self.state.value, now_s)
            self.recorder.flush()

    def _sample_final(self, now_s: float) -> None:
        if self._last_sample_s == now_s:  # the scan that ended the run has sampled these values already
            return
        self._next_sample_s = now_s
        self._sample(now_s)

    def _log_command(self, command: Command, user: str, accepted: bool, reason: str) -> None:
        self._log_command_text(command.value, user, accepted, reason)

    def _log_command_text(self, text: str, user: str, accepted: bool, reason: str) -> None:
        now_s = self.clock.now_s()
        self.command_log.append((now_s, text, user, accepted, reason))
        if self.recorder is not None and self.run_id is not None:
            self.recorder.log_command(self.run_id, text, user, now_s, accepted, reason)

    def _on_alarm_event(self, event: AlarmEvent) -> None:
        if self.recorder is not None:  # between runs too: run_id None journals a run-less alarm
            self.recorder.log_alarm(self.run_id, event.alarm_id, event.message, event.priority,
                                    event.state.value, event.t_s, line_id=self.line.definition.name,
                                    user=event.user or None, note=event.note or None,
                                    shelved_until_t_s=event.shelved_until_s)


_NEVER = Condition("false", frozenset(), lambda _image: False)


def _blocking_reason(alarm: ActiveAlarm) -> str:
    alarm_id = alarm.definition.alarm_id
    if alarm.interlock_latched and alarm.active:
        return f"interlock {alarm_id} is tripped (its condition stands)"
    if alarm.interlock_latched:
        return f"interlock {alarm_id} is latched: acknowledge it"
    if alarm.active:
        return f"alarm {alarm_id} is active"
    return f"alarm {alarm_id} is not acknowledged"


def _alarm_definition(alarm: StandingAlarm, known: frozenset[str]) -> AlarmDefinition:
    return AlarmDefinition(
        alarm_id=alarm.alarm_id, message=alarm.message, priority=alarm.priority,
        condition=compile_condition(alarm.condition, known_addresses=known, parameters={}),
        delay_s=alarm.delay_s, action=AlarmAction(alarm.action), force_safe=alarm.force_safe)

__all__ = ["AlarmState", "Engine", "EngineStatus", "StepLogEntry"]
