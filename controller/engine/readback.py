"""Readback verification: every output the engine wrote must read back as written.

Every device reading carries the readback of the device's setpoints and commands (the
simulator's, the Modbus holding registers', the OPC UA nodes'). When an output reads back
different from what the engine last wrote, beyond the tag's resolution, on
``READBACK_MISMATCH_SCANS`` consecutive scans of GOOD readings, someone or something changed
it behind the controller's back (a local panel, a PLC that restarted without the link
dropping, a watchdog that drove the device safe): the alarm ``READBACK_<DEVICE>_<TAG>``
(priority 2, no action) says which tag and both values, and the output is forgotten from the
engine's written set so that the scan writes it again. The alarm clears when the readback
matches again.

A few consecutive scans, not one: a readback may lag a write by a scan (a PLC that copies
its setpoint registers once per its own cycle, a server that publishes after the plant
step), so one mismatch is not yet a change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from operator import itemgetter

from controller.engine.alarms import AlarmManager
from controller.recipe.model import AlarmAction, AlarmDefinition, Condition
from drivers.definition import LineDefinition
from drivers.transport import Quality

READBACK_MISMATCH_SCANS = 3  # consecutive scans of GOOD readings with the readback off before it counts
# The resolution of a readback. There is no resolution on drivers.profiles.Tag: outputs
# travel as float32 on Modbus (two holding registers), which carry about 7 significant
# digits, so a value written as a float64 reads back rounded at about 6e-8 of itself.
# Absolute 1e-6 covers zero and small values, 1e-4 of the tag's span anything a float32
# register (or a PLC's own scaling) does to a value within its limits, and is still far
# below any change that matters to the process.
READBACK_ABS_TOLERANCE = 1.0e-6
READBACK_SPAN_TOLERANCE = 1.0e-4
READBACK_PRIORITY = 2

_NEVER = Condition("false", frozenset(), lambda _image: False)


def readback_alarm_id(address: str) -> str:
    """``READBACK_<DEVICE>_<TAG>`` of an output ``device.tag``."""
    return "READBACK_" + address.replace(".", "_").upper()


class ReadbackVerifier:
    """Compares each GOOD reading's readback of every output with what was last written."""

    def __init__(self, definition: LineDefinition) -> None:
        # per device: (address, tolerance, unit) of each output; built once, read every scan
        self._outputs: list[tuple[str, tuple[tuple[str, float, str], ...]]] = []
        for device in definition.devices:
            outputs = tuple((f"{device.name}.{t.name}",
                             READBACK_ABS_TOLERANCE + READBACK_SPAN_TOLERANCE * (t.high - t.low), t.unit)
                            for t in device.profile.outputs)
            if outputs:
                self._outputs.append((device.name, outputs))
        # the common scan at C speed: every device GOOD, every output read back exactly as
        # written (the simulator, OPC UA doubles); anything else takes the per-tag path
        devices = [device for device, _ in self._outputs]
        addresses = [address for _, outputs in self._outputs for address, _, _ in outputs]
        self._device_count = len(devices)
        self._qualities = _getter(devices)
        self._values = _getter(addresses)
        self._misses: dict[str, int] = {}  # address -> consecutive scans read back off (only those off)
        self._alarmed: set[str] = set()  # addresses whose READBACK alarm this verifier raised

    def verify(self, now_s: float, image: Mapping[str, float], quality: Mapping[str, Quality],
               written: MutableMapping[str, float], alarms: AlarmManager) -> None:
        """One scan, after the readings are in ``image``: count mismatches, alarm and forget
        (``written``) an output read back off for ``READBACK_MISMATCH_SCANS`` scans, clear
        its alarm when it reads back as written again."""
        misses = self._misses
        pending = bool(misses or self._alarmed)  # anything counted or alarmed to settle on a match
        if not pending and self._qualities(quality).count(Quality.GOOD) == self._device_count:
            try:
                if self._values(image) == self._values(written):
                    return
            except KeyError:  # an output not written (yet, or forgotten to be written again)
                pass
        written_get = written.get
        image_get = image.get
        good = Quality.GOOD
        for device, outputs in self._outputs:
            if quality[device] is not good:  # stale values prove nothing; the COMM alarm speaks
                if misses:
                    for address, _, _ in outputs:
                        misses.pop(address, None)
                continue
            for address, tolerance, unit in outputs:
                expected = written_get(address)
                if expected is None:  # nothing written (yet, or forgotten to be written again)
                    continue
                readback = image_get(address, expected)  # not read back by the transport: nothing to judge
                if -tolerance <= readback - expected <= tolerance:
                    if pending:
                        self._matched(address, now_s, alarms)
                    continue
                count = misses.get(address, 0) + 1
                if count < READBACK_MISMATCH_SCANS:
                    misses[address] = count
                    continue
                del misses[address]
                del written[address]  # the scan writes it again
                self._alarmed.add(address)
                alarms.raise_external(AlarmDefinition(
                    alarm_id=readback_alarm_id(address),
                    message=(f"{address} reads back {_quantity(readback, unit)} but {_quantity(expected, unit)} "
                             f"was written (for {READBACK_MISMATCH_SCANS} scans): changed outside the controller; "
                             "written again"),
                    priority=READBACK_PRIORITY, condition=_NEVER, action=AlarmAction.NONE), now_s)

    def _matched(self, address: str, now_s: float, alarms: AlarmManager) -> None:
        self._misses.pop(address, None)
        if address in self._alarmed:
            self._alarmed.discard(address)
            alarms.clear_external(readback_alarm_id(address), now_s)

def _getter(keys: list[str]) -> Callable[[Mapping[str, object]], tuple[object, ...]]:
    """``mapping -> tuple of its values at keys`` (itemgetter, a tuple even for one key)."""
    if not keys:
        return lambda _mapping: ()
    if len(keys) == 1:
        key = keys[0]
        return lambda mapping: (mapping[key],)
    return itemgetter(*keys)


def _quantity(value: float, unit: str) -> str:
    return f"{value:g} {unit}" if unit else f"{value:g}"
