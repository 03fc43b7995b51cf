"""The recipe YAML as pydantic models: shape and types only.

Every model forbids unknown keys, so a typo ("setpiont:") is an error rather than a
silently ignored line. Counts and lengths are capped (``limits``): steps, actions per
step, alarms, parameters and the length of a condition. Meaning (units, tags, limits,
process rules) is checked by the compiler and ``rules``; values stay text here ("40
degC", or a parameter name).

Actions are written with the verb as the key that names what they act on::

    {set: support_belt.line_speed_setpoint_m_min, value: "0 m/min"}
    {ramp: dope_pump_1.speed_setpoint_rpm, to: layer_1_pump_speed, rate: "10 rpm/min"}
    {loop: quench_bath_temperature, mode: auto, setpoint: quench_temperature}
    {ratio: co2_injection, mode: auto, value: co2_ratio, rate: "2 g/min/min"}
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from controller.recipe.limits import (
    MAX_ACTIONS_PER_STEP,
    MAX_ALARMS,
    MAX_CONDITION_CHARS,
    MAX_PARAMETERS,
    MAX_SPECIFICATIONS,
    MAX_STEPS,
)

# A value: a quantity as text ("40 degC"), a parameter name ("cast_temperature"),
# or a plain number (only for plain-number and absorbance tags).
Value = str | float
# A condition in the safe grammar (``conditions``), bounded before it is parsed.
ConditionText = Annotated[str, Field(max_length=MAX_CONDITION_CHARS)]


class StrictSpec(BaseModel):
    """A recipe block: unknown keys are errors (a typo is not silently ignored)."""
    model_config = ConfigDict(extra="forbid", frozen=True)


class HeaderSpec(StrictSpec):
    id: str
    name: str
    version: int
    line_kind: str
    product: str
    description: str = ""
    source: str = ""


class ParameterSpec(StrictSpec):
    value: Value
    low: Value | None = None
    high: Value | None = None
    description: str = ""


class SetSpec(StrictSpec):
    set: str
    value: Value


class RampSpec(StrictSpec):
    ramp: str
    to: Value
    rate: Value


class LoopSpec(StrictSpec):
    loop: str
    mode: str
    setpoint: Value | None = None
    output: Value | None = None


class RatioSpec(StrictSpec):
    ratio: str
    mode: str
    value: Value | None = None  # the ratio, in the station's ratio unit
    rate: Value | None = None  # slew limit of the output, e.g. "2 g/min/min"


_ACTION_KINDS: dict[str, type[BaseModel]] = {"set": SetSpec, "ramp": RampSpec, "loop": LoopSpec, "ratio": RatioSpec}


def _action_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = [k for k in _ACTION_KINDS if k in value]
        if len(keys) == 1:
            return f"<{keys[0]}>"
        return None
    if isinstance(value, BaseModel):
        return next((f"<{k}>" for k, spec in _ACTION_KINDS.items() if type(value) is spec), None)
    return None


ActionSpec = Annotated[
    Annotated[SetSpec, Tag("<set>")]
    | Annotated[RampSpec, Tag("<ramp>")]
    | Annotated[LoopSpec, Tag("<loop>")]
    | Annotated[RatioSpec, Tag("<ratio>")],
    Discriminator(
        _action_kind,
        custom_error_type="action_kind",
        custom_error_message="an action has exactly one of the keys set, ramp, loop or ratio",
    ),
]


class TransitionSpec(StrictSpec):
    condition: ConditionText
    hold_for: Value = "0 s"
    timeout: Value | None = None  # required by rule transition.timeout (a clearer message)
    on_timeout: str = "hold"


class StepSpec(StrictSpec):
    step: str
    description: str = ""
    actions: list[ActionSpec] = Field(default_factory=list, max_length=MAX_ACTIONS_PER_STEP)
    transition: TransitionSpec
    production: bool = False


class AlarmSpec(StrictSpec):
    id: str
    message: str
    priority: int
    condition: ConditionText
    delay: Value = "0 s"
    action: str = "none"
    steps: list[str] = Field(default_factory=list, max_length=MAX_STEPS)


class SpecificationSpec(StrictSpec):
    """One quality specification of the product: a tag (measured or derived) that must lie
    within [low, high] over production."""

    quantity: str
    low: Value | None = None
    high: Value | None = None
    max_out_of_spec: Value = "5 %"  # of production time outside [low, high] still in spec
    description: str = ""


class RecipeSpec(StrictSpec):
    """The blocks every recipe has. A line kind subclasses it with its own blocks (the
    casting line's layers and quench liquid, the foaming line's materials); the compiler
    validates a recipe against the subclass of the kind its header names."""

    header: HeaderSpec
    formula: dict[str, ParameterSpec] = Field(default_factory=dict, max_length=MAX_PARAMETERS)
    procedure: list[StepSpec] = Field(default_factory=list, max_length=MAX_STEPS)
    alarms: list[AlarmSpec] = Field(default_factory=list, max_length=MAX_ALARMS)
    specification: list[SpecificationSpec] = Field(default_factory=list, max_length=MAX_SPECIFICATIONS)

