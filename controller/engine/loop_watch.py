"""Watching the PID loops' measurements and heaters, every scan, whatever the step.

Two faults a loop hides by doing its job:

- **A frozen sensor** (``FROZEN_<LOOP>``): the loop is in AUTO and, while its measurement
  stayed within a noise band, moved its output by more than a few percent of the output's
  span; ``frozen_after_s`` after that the measurement still has not moved. A live
  measurement answers what the loop does within the process's response time; one that
  does not is stuck (a sensor, a transmitter, a register no longer updated). A measurement
  that is steady because the output is steady proves nothing, so the output's movement is
  required, and the time counts from it (a loop with a long dead time, such as a heat
  exchanger fed through a pipe, gets a ``frozen_after_s`` longer than its dead time from
  its line kind); nor does a measurement pinned at an end of its instrument's range (the
  process is beyond the range: a pressure before the melt arrives reads 0). Clears when
  the measurement moves again.
- **A failed heater** (``HEATER_SATURATED_<LOOP>``), for every heating loop: the loop is in
  AUTO, its output sits at (or within ``1 - heater_high_fraction`` of the span below) its
  high limit, the measurement is more than a band below the setpoint, and it has not risen
  by ``heater_rise_band`` in ``heater_after_s``. A heater that works lifts its measurement
  when given full output; one that does not has failed (element open, contactor, fuse) or
  cannot make the setpoint (a bath whose make-up water takes more heat than the heater
  has levels out below its setpoint: saturated too). Clears when the measurement clearly
  rises again (``HEATER_CLEAR_RISE_FRACTION``), comes within the band or the loop stops
  asking for full output. Output and measurement are judged through a first-order filter
  of ``HEATER_FILTER_S``: the noise a loop passes to its output (a proportional kick below
  the high limit for one scan) and the noise of the measurement would otherwise decide,
  scan by scan, whether a heater is saturated or rising.

Both are priority 2 with no action: they tell the operator what the loop cannot; what the
run does about them is the line kind's (or the recipe's) to decide. A heating loop is one
whose output tag ends with ``heater_output_pct``, or a reverse-acting loop on a temperature
(degC) with a percent output (the heating half of a split-range jacket: the output rises
when the temperature is below its setpoint, so it heats); ``LoopWatch.heating`` overrides.

A line kind gives a loop other settings by declaring it a :class:`WatchedLoop` (a
``LoopDefinition`` with its ``LoopWatch``); the engine's ``loop_watch`` argument overrides
both.

Nothing is judged on a reading that is not GOOD (the COMM alarm speaks for it); a watch
window starts again when the reading returns. The bookkeeping is plain attributes per loop,
set up once: a scan allocates nothing unless an alarm is raised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controller.engine.alarms import AlarmManager
from controller.engine.pid import Pid
from controller.recipe.control import LoopDefinition
from controller.recipe.model import AlarmAction, AlarmDefinition, Condition, LoopMode
from drivers.definition import LineDefinition
from drivers.profiles import Tag
from drivers.transport import Quality

# Defaults (LoopWatch overrides them per loop). # assumption: they are engineering practice,
# not a source's numbers: a band of 1e-3 of the span is above what a float32 register or a
# 16-bit ADC step does to a steady reading and about the electrical noise of a 4-20 mA loop
# (16 uA), so a stuck transmitter still reads "not moving"; 300 s is several time constants
# of the fast loops and still well inside a step; a few percent of the output's span is
# more than a loop moves its output on noise alone. Checked against every shipped recipe
# on both simulators (seeds 0-4, scans of 1-10 s): no frozen alarm on a healthy run.
FROZEN_BAND_FRACTION = 1.0e-3  # of the measurement's span
FROZEN_AFTER_S = 300.0  # after the output moved, the measurement's time to answer
FROZEN_OUTPUT_MOVE_FRACTION = 0.03  # of the output's span
# A heater "at its high limit": within 5 % of the output's span below the limit; once there,
# until it falls below a further 5 % (a saturated loop's output hovers a few percent under
# the limit, pushed down by the noise its proportional action passes on).
HEATER_HIGH_FRACTION = 0.95
HEATER_HIGH_HYSTERESIS = 0.05  # of the output's span
HEATER_BELOW_BAND_FRACTION = 0.01  # of the measurement's span below the setpoint (1 K on a 0-100 degC bath)
# A rise of this much (of the measurement's span) in HEATER_AFTER_S is "rising": 0.2 K in
# 10 min on a 0-100 degC bath. A bath of 400 L with 10 L/min of make-up water (time
# constant 40 min) rises that much while it is more than ~1 K below where its heater
# levels it out: a reachable setpoint is reached without this alarm.
HEATER_RISE_FRACTION = 0.002
HEATER_AFTER_S = 600.0  # full output for this long without a rise: failed
# Raised, the alarm clears on a rise five times as large within HEATER_AFTER_S (1 K in 10 min
# on 0-100 degC), not on the next 0.2 K a saturated bath creeps up by: one alarm, not one
# every ten minutes (chattering, ISA-18.2).
HEATER_CLEAR_RISE_FRACTION = 0.01
HEATER_FILTER_S = 30.0  # time constant of the filter on the output and the measurement
WATCH_PRIORITY = 2

_HEATER_SUFFIX = "heater_output_pct"
_NEVER = Condition("false", frozenset(), lambda _image: False)


@dataclass(frozen=True, slots=True)
class LoopWatch:
    """How one loop is watched; None: the default from the tags' spans (module constants)."""

    frozen_band: float | None = None  # measurement units: moving less than this is not moving
    frozen_after_s: float = FROZEN_AFTER_S  # the process's response time, with a margin
    frozen_output_move: float | None = None  # output units the loop must have moved its output by
    heating: bool | None = None  # None: decided by is_heating_loop
    heater_high_fraction: float = HEATER_HIGH_FRACTION  # of the output's span, from its low limit
    heater_below_band: float | None = None  # measurement units below the setpoint
    heater_rise_band: float | None = None  # measurement units: a rise of this much is rising
    heater_after_s: float = HEATER_AFTER_S

    def __post_init__(self) -> None:
        if self.frozen_after_s <= 0 or self.heater_after_s <= 0:
            raise ValueError("watch times must be positive")
        if not 0.0 < self.heater_high_fraction <= 1.0:
            raise ValueError("heater_high_fraction is a fraction of the output span in (0, 1]")
        for name in ("frozen_band", "frozen_output_move", "heater_below_band", "heater_rise_band"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")


@dataclass(frozen=True, slots=True)
class WatchedLoop(LoopDefinition):
    """A loop a line kind declares with its own watch settings (where the defaults do not
    fit the process: a long dead time, a noisy or coarse instrument)."""

    watch: LoopWatch = LoopWatch()


def is_heating_loop(loop: LoopDefinition, pv: Tag, output: Tag) -> bool:
    """A heater's loop: output ``*heater_output_pct``, or reverse acting on a temperature with
    a percent output (a split-range jacket's heating half)."""
    if loop.output.endswith(_HEATER_SUFFIX):
        return True
    return not loop.direct_acting and pv.unit == "degC" and output.unit == "percent"


def frozen_alarm_id(loop: str) -> str:
    return f"FROZEN_{loop.upper()}"


def heater_alarm_id(loop: str) -> str:
    return f"HEATER_SATURATED_{loop.upper()}"


@dataclass(slots=True)
class _Watched:
    """One loop: its settings resolved to numbers, and its windows."""

    name: str
    pid: Pid
    pv_address: str
    output_address: str
    device: str  # the measurement's device (whose quality counts)
    pv_unit: str
    output_unit: str
    pv_floor: float  # at or below: pinned at the low end of the instrument's range
    pv_ceiling: float  # at or above: pinned at the high end
    frozen_band: float
    frozen_after_s: float
    frozen_output_move: float
    heating: bool
    heater_threshold: float  # output at or above this is "at the high limit"
    heater_release: float  # ... and stays there until below this
    heater_below_band: float
    heater_rise_band: float
    heater_clear_rise: float
    heater_after_s: float
    # frozen-sensor window: since when the measurement stayed within pv_lo..pv_hi
    still_since_s: float | None = None
    pv_lo: float = 0.0
    pv_hi: float = 0.0
    out_lo: float = 0.0
    out_hi: float = 0.0
    moved_at_s: float | None = None  # when the output had moved by frozen_output_move in this window
    frozen: bool = False
    # heater: filtered output and measurement (None: filters start afresh), and the window
    # since when the output sat high with the measurement low, from the measurement then
    filtered_output: float | None = None
    filtered_pv: float = 0.0
    saturated_since_s: float | None = None
    saturated_from_pv: float = 0.0
    saturated: bool = False


class LoopWatcher:
    def __init__(self, loops: Sequence[LoopDefinition], pids: Mapping[str, Pid], definition: LineDefinition,
                 settings: Mapping[str, LoopWatch] | None = None) -> None:
        settings = settings or {}
        unknown = sorted(set(settings) - {loop.name for loop in loops})
        if unknown:
            raise ValueError(f"loop watch settings for unknown loops: {', '.join(unknown)}")
        self._loops: list[_Watched] = []
        self._last_s: float | None = None
        for loop in loops:
            watch = settings.get(loop.name) or (loop.watch if isinstance(loop, WatchedLoop) else LoopWatch())
            pv = definition.tag(loop.pv)
            output = definition.tag(loop.output)
            pv_span = pv.high - pv.low
            output_span = output.high - output.low
            heating = is_heating_loop(loop, pv, output) if watch.heating is None else watch.heating
            frozen_band = _or(watch.frozen_band, FROZEN_BAND_FRACTION * pv_span)
            self._loops.append(_Watched(
                name=loop.name, pid=pids[loop.name], pv_address=loop.pv, output_address=loop.output,
                device=loop.pv.partition(".")[0], pv_unit=pv.unit, output_unit=output.unit,
                pv_floor=pv.low + frozen_band, pv_ceiling=pv.high - frozen_band, frozen_band=frozen_band,
                frozen_after_s=watch.frozen_after_s,
                frozen_output_move=_or(watch.frozen_output_move, FROZEN_OUTPUT_MOVE_FRACTION * output_span),
                heating=heating,
                heater_threshold=output.low + watch.heater_high_fraction * output_span,
                heater_release=output.low + (watch.heater_high_fraction - HEATER_HIGH_HYSTERESIS) * output_span,
                heater_below_band=_or(watch.heater_below_band, HEATER_BELOW_BAND_FRACTION * pv_span),
                heater_rise_band=_or(watch.heater_rise_band, HEATER_RISE_FRACTION * pv_span),
                heater_clear_rise=HEATER_CLEAR_RISE_FRACTION * pv_span,
                heater_after_s=watch.heater_after_s,
            ))

    def check(self, now_s: float, image: Mapping[str, float], quality: Mapping[str, Quality],
              outputs: Mapping[str, float], alarms: AlarmManager) -> None:
        """One scan, after the loops ran and the interlocks forced their outputs."""
        good = Quality.GOOD
        auto = LoopMode.AUTO
        image_get = image.get
        outputs_get = outputs.get
        weight = 0.0 if self._last_s is None else min(1.0, (now_s - self._last_s) / HEATER_FILTER_S)
        self._last_s = now_s
        for w in self._loops:
            pv = image_get(w.pv_address)
            output = outputs_get(w.output_address)
            if pv is None or output is None or quality.get(w.device) is not good:
                w.still_since_s = None  # judged afresh once the reading is GOOD again
                w.saturated_since_s = None
                w.filtered_output = None
                continue
            in_auto = w.pid.mode is auto
            # the frozen watch's common case inline: a window open, the measurement moving
            if w.still_since_s is not None and not w.frozen and in_auto and w.pv_floor < pv < w.pv_ceiling \
                    and (pv - w.pv_lo > w.frozen_band or w.pv_hi - pv > w.frozen_band):
                w.still_since_s = now_s
                w.pv_lo = w.pv_hi = pv
                w.out_lo = w.out_hi = output
                w.moved_at_s = None
            else:
                self._watch_frozen(w, now_s, pv, output, in_auto, alarms)
            if not w.heating:
                continue
            if in_auto:  # filter, then judge only a heater near its limit or already judged
                filtered = w.filtered_output
                if filtered is None:
                    w.filtered_output = filtered = output
                    w.filtered_pv = pv
                else:
                    w.filtered_output = filtered = filtered + (output - filtered) * weight
                    w.filtered_pv += (pv - w.filtered_pv) * weight
                if filtered >= w.heater_threshold or w.saturated_since_s is not None or w.saturated:
                    self._watch_heater(w, now_s, alarms)
            elif w.filtered_output is not None or w.saturated:
                w.filtered_output = None  # filters start afresh in AUTO
                w.saturated_since_s = None
                if w.saturated:
                    w.saturated = False
                    alarms.clear_external(heater_alarm_id(w.name), now_s)

    @staticmethod
    def _watch_frozen(w: _Watched, now_s: float, pv: float, output: float, in_auto: bool,
                      alarms: AlarmManager) -> None:
        if (pv <= w.pv_floor or pv >= w.pv_ceiling) and not w.frozen:  # pinned: beyond the range, not stuck
            w.still_since_s = None
            return
        if w.still_since_s is None:
            if in_auto or w.frozen:  # a raised alarm keeps watching for the measurement to move
                _start_still_window(w, now_s, pv, output)
            return
        if pv < w.pv_lo:
            w.pv_lo = pv
        elif pv > w.pv_hi:
            w.pv_hi = pv
        if w.pv_hi - w.pv_lo > w.frozen_band:  # it moves: alive
            if w.frozen:
                w.frozen = False
                alarms.clear_external(frozen_alarm_id(w.name), now_s)
            if in_auto:
                _start_still_window(w, now_s, pv, output)
            else:
                w.still_since_s = None
            return
        if not in_auto:
            if not w.frozen:
                w.still_since_s = None
            return
        if w.frozen:
            return
        if output < w.out_lo:
            w.out_lo = output
        elif output > w.out_hi:
            w.out_hi = output
        if w.moved_at_s is None:
            if w.out_hi - w.out_lo > w.frozen_output_move:
                w.moved_at_s = now_s  # from now on the measurement must answer
            return
        if now_s - w.moved_at_s >= w.frozen_after_s - 1e-9:
            w.frozen = True
            alarms.raise_external(AlarmDefinition(
                alarm_id=frozen_alarm_id(w.name),
                message=(f"{w.pv_address} has not moved beyond {_quantity(w.frozen_band, w.pv_unit)} for "
                         f"{now_s - w.still_since_s:.0f} s (reads {_quantity(pv, w.pv_unit)}), though loop "
                         f"{w.name} moved {w.output_address} by "
                         f"{_quantity(w.out_hi - w.out_lo, w.output_unit)}: sensor frozen?"),
                priority=WATCH_PRIORITY, condition=_NEVER, action=AlarmAction.NONE), now_s)

    @staticmethod
    def _watch_heater(w: _Watched, now_s: float, alarms: AlarmManager) -> None:
        """A heating loop in AUTO, its filters updated this scan."""
        assert w.filtered_output is not None
        output = w.filtered_output
        pv = w.filtered_pv
        below = w.pid.setpoint - pv
        high = w.heater_threshold if w.saturated_since_s is None else w.heater_release
        if output < high or below <= w.heater_below_band:
            w.saturated_since_s = None
            if w.saturated:
                w.saturated = False
                alarms.clear_external(heater_alarm_id(w.name), now_s)
            return
        if w.saturated_since_s is None:
            w.saturated_since_s = now_s
            w.saturated_from_pv = pv
            return
        if w.saturated:  # judged window by window: cleared by a clear rise within one
            if pv >= w.saturated_from_pv + w.heater_clear_rise:  # it heats again
                w.saturated = False
                alarms.clear_external(heater_alarm_id(w.name), now_s)
                w.saturated_since_s = now_s
                w.saturated_from_pv = pv
            elif now_s - w.saturated_since_s >= w.heater_after_s - 1e-9:
                w.saturated_since_s = now_s
                w.saturated_from_pv = pv
            return
        if pv >= w.saturated_from_pv + w.heater_rise_band:  # rising: the heater heats
            w.saturated_since_s = now_s
            w.saturated_from_pv = pv
            return
        saturated_s = now_s - w.saturated_since_s
        if saturated_s >= w.heater_after_s - 1e-9:
            w.saturated = True
            w.saturated_since_s = now_s  # the first window a clear rise is looked for in
            w.saturated_from_pv = pv
            alarms.raise_external(AlarmDefinition(
                alarm_id=heater_alarm_id(w.name),
                message=(f"loop {w.name}: {w.output_address} at {_quantity(output, w.output_unit)} for "
                         f"{saturated_s:.0f} s but {w.pv_address} reads {_quantity(pv, w.pv_unit)}, "
                         f"{_quantity(below, w.pv_unit)} below its setpoint "
                         f"{_quantity(w.pid.setpoint, w.pv_unit)}, and has not risen "
                         f"{_quantity(w.heater_rise_band, w.pv_unit)}: heater failed or too small?"),
                priority=WATCH_PRIORITY, condition=_NEVER, action=AlarmAction.NONE), now_s)


def _start_still_window(w: _Watched, now_s: float, pv: float, output: float) -> None:
    w.still_since_s = now_s
    w.pv_lo = w.pv_hi = pv
    w.out_lo = w.out_hi = output
    w.moved_at_s = None


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _quantity(value: float, unit: str) -> str:
    return f"{value:.4g} {unit}" if unit else f"{value:.4g}"
