"""The skeleton every simulated plant shares: simpy time, seeded sensor noise, the read and
write paths of ``drivers.sim_transport.PlantPort``, the commands last written and the faults.

A line kind's plant subclasses :class:`SimulatedPlant` and supplies two things:

* ``_step(dt)``: integrate its models over one step of ``dt`` seconds (the pure physics of
  ``simulator.physics``), reading ``self.commands`` and ``self.faults``;
* ``_truth(device)``: the true value of every measured/status tag of a device now.

Each sensor's noise is what its device profile declares (``Tag.noise`` and
``noise_of_reading``, bands of ±``NOISE_BAND_SIGMAS`` σ; none declared: exact), the same
declaration the SCADA deadband reads, times the plant's ``noise_scale`` (0: every sensor
exact, for hand balances).

The read path runs for every device on every scan, so it works out once per device, on its
first read, each tag's noise (1 σ) and asks for the truth function (``_truth_function(device)``,
by default ``_truth`` bound to the device; a plant with a function or model per device
returns that and saves a dispatch per read). ``commands[device]`` is a dict kept for the
plant's lifetime: models may hold it, writes update it in place.

Time: one simpy process ticks every ``step_s``; the tick at time t integrates over
[t, t + step_s]. ``advance_to(t)`` runs the environment until t (simpy does not process
events scheduled at exactly ``until``), so after ``advance_to(t)`` the plant state is the
state at t when t is a multiple of ``step_s``.

Noise: seeded Gaussian noise drawn at read time from a table made by ``random.Random(seed)``;
the same seed and the same sequence of calls give the same readings, and noise never feeds
back into the physics, so two seeds differ only by noise.

A read serves, per device: truth → + noise → clamped to the tag's low/high → the commands
as last written (readback) → frozen sensors at their stuck value.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Mapping
from functools import partial
from typing import Any, ClassVar

import simpy

from drivers.definition import LineDefinition
from drivers.profiles import NOISE_BAND_SIGMAS, DeviceProfile
from simulator.faults import PlantFaults

NOISE_TABLE_SIZE: int = 1 << 16  # a power of two: the index wraps with a mask


TruthFunction = Callable[[], Mapping[str, float]]
# per measured tag: (tag, low, high, sigma, of_reading)
_Inputs = tuple[tuple[str, float, float, float, float], ...]
# what a read of one device needs: its measured tags, its truth function, its commands
_ReadPlan = tuple[_Inputs, TruthFunction, dict[str, float]]


class SimulatedPlant(ABC):
    """A simulated line on simpy time. Implements ``drivers.sim_transport.PlantPort``."""

    # False: a true value of exactly 0.0 is served without noise (a stopped drive reads 0).
    NOISE_ON_ZERO: ClassVar[bool] = True

    def __init__(self, line: LineDefinition, seed: int = 0, step_s: float = 1.0,
                 faults: PlantFaults | None = None, noise_scale: float = 1.0) -> None:
        if step_s <= 0.0:
            raise ValueError("step_s must be positive")
        if noise_scale < 0.0:
            raise ValueError("noise_scale must be >= 0")
        self.noise_scale = noise_scale
        self.line = line
        self.step_s = step_s
        rng = random.Random(seed)
        self._noise_table = [rng.gauss(0.0, 1.0) for _ in range(NOISE_TABLE_SIZE)]
        self._noise_index = 0
        # the commands last written, per device: every output starts at its safe value (a
        # writable tag always has one, drivers.profiles.Tag checks it)
        self.commands: dict[str, dict[str, float]] = {
            d.name: {t.name: float(t.safe_value) for t in d.profile.outputs if t.safe_value is not None}
            for d in line.devices}
        self._profiles: dict[str, DeviceProfile] = {d.name: d.profile for d in line.devices}
        # per device read so far, what its reads need (made on its first read: the read path is hot)
        self._read_plans: dict[str, _ReadPlan] = {}
        self._last_reading: dict[str, dict[str, float]] = {}
        self.faults = faults if faults is not None else PlantFaults(line)
        self.faults.attach(self._reading_for_fault)
        self._frozen = self.faults.frozen  # device -> {tag: stuck value}; the faults keep this dict
        self.env = simpy.Environment()
        self.env.process(self._run())

    # ----------------------------------------------------------------- what a line kind supplies
    @abstractmethod
    def _step(self, dt: float) -> None:
        """Integrate every model over one step of ``dt`` seconds."""

    @abstractmethod
    def _truth(self, device: str) -> Mapping[str, float]:
        """The true value of every measured/status tag of ``device`` (a known device) now."""

    def _truth_function(self, device: str) -> TruthFunction:
        """What gives the true values of ``device``, asked once per device (default:
        ``_truth`` bound to it; a plant with a function or model per device returns that)."""
        return partial(self._truth, device)

    # ----------------------------------------------------------------- PlantPort
    def advance_to(self, t_s: float) -> None:
        """Run the plant models up to time ``t_s`` (no-op if already there)."""
        if t_s > self.env.now:
            self.env.run(until=t_s)

    def read_device(self, device: str) -> Mapping[str, float]:
        """Every tag of ``device``: noisy measurements, status, and the readback of the
        setpoints/commands as last written (a fresh dict)."""
        plan = self._read_plans.get(device)
        if plan is None:
            plan = self._read_plan(device)
        inputs, truth_function, commands = plan
        truth = truth_function()
        table = self._noise_table
        index = self._noise_index
        mask = NOISE_TABLE_SIZE - 1
        reading: dict[str, float] = {}
        if self.NOISE_ON_ZERO:
            for name, low, high, sigma, of_reading in inputs:
                value = truth[name]
                if of_reading:
                    sigma += of_reading * value
                if sigma:
                    value += sigma * table[index]
                    index = (index + 1) & mask
                reading[name] = low if value < low else high if value > high else value
        else:
            for name, low, high, sigma, of_reading in inputs:
                value = truth[name]
                if of_reading:
                    sigma += of_reading * value
                if sigma and value != 0.0:
                    value += sigma * table[index]
                    index = (index + 1) & mask
                reading[name] = low if value < low else high if value > high else value
        self._noise_index = index
        reading.update(commands)
        frozen = self._frozen.get(device)
        if frozen:
            reading.update(frozen)
        self._last_reading[device] = reading
        return reading

    def write_device(self, device: str, values: Mapping[str, float]) -> None:
        """Store setpoints/commands (limit- and direction-checked against the profile first:
        nothing is stored when one value is refused)."""
        profile = self._profiles.get(device)
        if profile is None:
            self.line.device(device)  # raises KeyError with the known names
            raise KeyError(device)
        checked = {name: profile.tag(name).check_write(value, device) for name, value in values.items()}
        self.commands[device].update(checked)

    # ----------------------------------------------------------------- internals
    def _read_plan(self, device: str) -> _ReadPlan:
        profile = self._profiles.get(device)
        if profile is None:
            self.line.device(device)  # raises KeyError with the known names
            raise KeyError(device)
        scale = self.noise_scale / NOISE_BAND_SIGMAS  # a declared band is ±3 σ of the instrument
        inputs = tuple((tag.name, tag.low, tag.high, tag.noise * scale, tag.noise_of_reading * scale)
                       for tag in profile.inputs)
        plan = (inputs, self._truth_function(device), self.commands[device])
        self._read_plans[device] = plan
        return plan

    def _reading_for_fault(self, device: str) -> Mapping[str, float]:
        last = self._last_reading.get(device)
        return last if last is not None else self.read_device(device)

    def _run(self) -> Generator[simpy.Event, Any, None]:  # the simpy process
        env = self.env
        step_s = self.step_s
        step = self._step
        while True:
            step(step_s)
            yield env.timeout(step_s)
