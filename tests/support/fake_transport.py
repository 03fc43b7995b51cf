"""A fake transport for unit-testing the engine without a plant (ophyd-async's mock backends:
``set_mock_value``, recorded puts, ``callback_on_mock_put``).

It serves every tag of every device it is given from a table the test sets, echoes written
outputs in its readings (as a PLC's setpoint readback does), records every write in order,
and can be switched to fail:

- ``fail_reads(device)``: the device's reading comes back as the Modbus/OPC UA transports
  report a lost device: STALE with the last good values, BAD_COMM (no values) if it never
  had a good read, or the quality the test asks for (BAD_COMM with the last good values is
  what the OPC UA transport reports once a loss outlasts ``bad_comm_after_s``); always with
  an error text;
- ``fail_writes(device)`` (or every device): ``write()`` raises ``TransportError`` and the
  attempt is recorded in ``refused``, not in ``writes``; failing every device fails the
  heartbeat too;
- ``restart(device)`` (or every device): the plant side restarted (or its watchdog tripped)
  without the link dropping: the device's outputs read back at their safe values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from drivers.clock import Clock
from drivers.definition import LineDefinition
from drivers.transport import DeviceReading, Quality, TransportError

WriteCallback = Callable[[str, dict[str, float]], None]

_ALL = "*"


class FakeTransport:
    def __init__(self, definition: LineDefinition, devices: Iterable[str] | None = None,
                 clock: Clock | None = None) -> None:
        """Serve ``devices`` (default: every device of ``definition``). Outputs start at their
        safe values, inputs at their low limit (0.0 for most)."""
        names = tuple(devices) if devices is not None else tuple(d.name for d in definition.devices)
        self._definition = definition
        self._devices = names
        self._clock = clock
        self._values: dict[str, dict[str, float]] = {}
        for name in names:
            profile = definition.device(name).profile
            self._values[name] = {t.name: (t.safe_value if t.safe_value is not None else max(t.low, 0.0))
                                  for t in profile.tags}
        self._last_good: dict[str, tuple[dict[str, float], float]] = {}
        self._read_failures: dict[str, tuple[str, Quality | None]] = {}
        self._write_failures: dict[str, str] = {}
        self._callbacks: list[WriteCallback] = []
        self.writes: list[tuple[str, dict[str, float]]] = []
        self.refused: list[tuple[str, dict[str, float]]] = []
        self.heartbeats: list[int] = []
        self.connected = False
        self.reads = 0

    # ------------------------------------------------------------ what the test does
    def set(self, address: str, value: float) -> None:
        """Set the value the plant reports for ``device.tag`` from the next read on."""
        device, tag = self._split(address)
        self._values[device][tag] = float(value)

    def value(self, address: str) -> float:
        """What the fake plant holds now for ``device.tag`` (a written output included)."""
        device, tag = self._split(address)
        return self._values[device][tag]

    def fail_reads(self, device: str, error: str = "no response (timeout)", quality: Quality | None = None) -> None:
        """Readings of ``device`` stop being GOOD (see the module docstring for what they carry)."""
        self._check_device(device)
        if quality is Quality.GOOD:
            raise ValueError("a failed read is not GOOD")
        self._read_failures[device] = (error, quality)

    def fail_writes(self, device: str | None = None, error: str = "connection refused") -> None:
        """Writes to ``device`` (None: every device, and the heartbeat) raise TransportError."""
        if device is not None:
            self._check_device(device)
        self._write_failures[device or _ALL] = error

    def restore(self, device: str | None = None) -> None:
        """End every read and write failure of ``device`` (None: of every device)."""
        if device is None:
            self._read_failures.clear()
            self._write_failures.clear()
        else:
            self._read_failures.pop(device, None)
            self._write_failures.pop(device, None)

    def restart(self, device: str | None = None) -> None:
        """The PLC of ``device`` (None: of every device) restarted, or its watchdog drove it
        safe, and the link never dropped: its outputs are at their safe values from the next
        read on, and its readings stay GOOD."""
        for name in (device,) if device is not None else self._devices:
            self._check_device(name)
            for tag in self._definition.device(name).profile.outputs:
                assert tag.safe_value is not None
                self._values[name][tag.name] = tag.safe_value

    def on_write(self, callback: WriteCallback) -> None:
        """Call ``callback(device, values)`` after every successful write (a plant's response)."""
        self._callbacks.append(callback)

    def writes_to(self, device: str) -> list[dict[str, float]]:
        return [values for name, values in self.writes if name == device]

    def written(self, address: str) -> list[float]:
        """Every value written to ``device.tag``, in order."""
        device, tag = self._split(address)
        return [values[tag] for values in self.writes_to(device) if tag in values]

    def clear_log(self) -> None:
        self.writes.clear()
        self.refused.clear()

    # ------------------------------------------------------------ the Transport protocol
    @property
    def devices(self) -> tuple[str, ...]:
        return self._devices

    async def connect(self) -> None:
        self.connected = True

    async def read(self) -> list[DeviceReading]:
        self.reads += 1
        now_s = self._clock.now_s() if self._clock is not None else float(self.reads)
        readings: list[DeviceReading] = []
        for device in self._devices:
            failure = self._read_failures.get(device)
            if failure is None:
                values = dict(self._values[device])
                self._last_good[device] = (values, now_s)
                readings.append(DeviceReading(device, dict(values), Quality.GOOD, now_s))
                continue
            error, quality = failure
            last = self._last_good.get(device)
            if last is None:
                readings.append(DeviceReading(device, {}, Quality.BAD_COMM, math.nan, error))
            else:
                readings.append(DeviceReading(device, dict(last[0]), quality or Quality.STALE, last[1], error))
        return readings

    async def write(self, device: str, values: Mapping[str, float]) -> None:
        self._check_device(device)
        error = self._write_failures.get(device, self._write_failures.get(_ALL))
        if error is not None:
            self.refused.append((device, dict(values)))
            raise TransportError(f"{device}: {error}")
        self.writes.append((device, dict(values)))
        self._values[device].update(values)
        for callback in self._callbacks:
            callback(device, dict(values))

    async def heartbeat(self, counter: int) -> None:
        if _ALL in self._write_failures:
            raise TransportError(f"heartbeat: {self._write_failures[_ALL]}")
        self.heartbeats.append(counter)

    async def close(self) -> None:
        self.connected = False

    # ------------------------------------------------------------ helpers
    def _check_device(self, device: str) -> None:
        if device not in self._values:
            raise KeyError(f"the fake transport does not serve {device!r} (it serves: {', '.join(self._devices)})")

    def _split(self, address: str) -> tuple[str, str]:
        device, _, tag = address.partition(".")
        self._check_device(device)
        if tag not in self._values[device]:
            raise KeyError(f"{device} has no tag {tag!r} (tags: {', '.join(self._values[device])})")
        return device, tag
