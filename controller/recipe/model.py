"""A recipe as the engine executes it: validated, units converted, parameters resolved.

``controller.recipe`` turns YAML into these objects (or a list of errors); the engine
only ever sees a ``CompiledRecipe``, so nothing it runs can hold an unknown tag, a value
in the wrong unit or a value outside a tag's limits. Every numeric value here is in the
unit of the tag it addresses (the unit that the tag name carries).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class OnTimeout(StrEnum):
    """What the sequencer does when a transition's timeout runs out."""

    HOLD = "hold"  # alarm, go to Held; unhold retries the same step with fresh timers
    STOP = "stop"  # alarm, controlled stop
    ABORT = "abort"  # alarm, abort (everything to safe values)
    CONTINUE = "continue"  # log it and go on to the next step


class LoopMode(StrEnum):
    OFF = "off"  # output not written by the loop
    MANUAL = "manual"  # output held at the operator's / recipe's value
    AUTO = "auto"  # PID drives the output towards the setpoint


class AlarmAction(StrEnum):
    NONE = "none"  # annunciate only
    HOLD = "hold"
    STOP = "stop"
    ABORT = "abort"


@dataclass(frozen=True, slots=True)
class Condition:
    """A boolean expression over tag addresses (``device.tag``), compiled from the safe
    grammar in ``controller.recipe.conditions``. ``evaluate`` takes the flat process image."""

    source: str
    addresses: frozenset[str]
    evaluate: Callable[[Mapping[str, float]], bool] = field(compare=False)


@dataclass(frozen=True, slots=True)
class SetAction:
    address: str  # device.tag of a writable tag
    value: float


@dataclass(frozen=True, slots=True)
class RampAction:
    """Move an output linearly from its current value to ``target`` at ``rate_per_s``
    (tag units per second). The ramp runs in the background of the step and is frozen
    while the unit is held."""

    address: str
    target: float
    rate_per_s: float


@dataclass(frozen=True, slots=True)
class LoopAction:
    loop: str  # name of a loop in the line's controller configuration
    mode: LoopMode
    setpoint: float | None = None  # in the loop's process-variable unit
    output: float | None = None  # manual output, in the output tag's unit


@dataclass(frozen=True, slots=True)
class RatioAction:
    """Switch a ratio station (``controller.engine.ratio``) on or off. On: its output follows
    ``ratio`` × the wild flow, slewed at most ``rate_per_s`` (tag units per second; None:
    no limit). Off: the output goes to its safe value. ``output`` is the station's output
    address and ``planned_output`` its value at the recipe's planned throughput (for the
    sequencing rules and displays)."""

    station: str
    on: bool
    output: str
    ratio: float = 0.0  # in the station's ratio unit
    rate_per_s: float | None = None
    planned_output: float = 0.0


Action = SetAction | RampAction | LoopAction | RatioAction


@dataclass(frozen=True, slots=True)
class Transition:
    condition: Condition
    hold_for_s: float  # the condition must stay true this long
    timeout_s: float
    on_timeout: OnTimeout


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    description: str
    actions: tuple[Action, ...]
    transition: Transition
    production: bool = False  # product is being made in this step (for reports)


@dataclass(frozen=True, slots=True)
class AlarmDefinition:
    """A recipe- or line-level alarm: raised when ``condition`` has been true for
    ``delay_s``; ``action`` is what the sequencer does when it is raised."""

    alarm_id: str
    message: str
    priority: int  # 1 = critical ... 4 = low (ISA-18.2 priorities)
    condition: Condition
    delay_s: float = 0.0
    action: AlarmAction = AlarmAction.NONE
    only_in_steps: frozenset[str] = frozenset()  # empty: active whenever the unit executes
    # Interlock: outputs forced to their safe values (``device`` for all of a device's
    # outputs, or ``device.tag``) from the moment the alarm is raised until it has
    # cleared AND been acknowledged (latching, reset by the operator's acknowledge).
    force_safe: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    value: float
    unit: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class RecipeHeader:
    recipe_id: str
    name: str
    version: int
    line_kind: str
    product: str
    description: str = ""
    source: str = ""  # where the process comes from (seed, paper)


@dataclass(frozen=True, slots=True)
class Specification:
    """The product is in spec for ``address`` when, over production, its time-weighted mean
    lies within [low, high] and at most ``max_out_of_spec_fraction`` of the production time
    is outside (None: no limit on that side), in the tag's unit."""

    address: str
    low: float | None
    high: float | None
    unit: str
    max_out_of_spec_fraction: float
    description: str = ""


@dataclass(frozen=True, slots=True)
class CompiledRecipe:
    header: RecipeHeader
    parameters: Mapping[str, Parameter]
    # The line kind's own blocks, compiled by the kind (e.g. the casting layers and quench
    # liquid, the foaming materials); generic code never looks inside.
    block: object
    steps: tuple[Step, ...]
    alarms: tuple[AlarmDefinition, ...]
    yaml_text: str
    specification: tuple[Specification, ...] = ()

    def parameter_values(self) -> dict[str, float]:
        return {name: p.value for name, p in self.parameters.items()}
