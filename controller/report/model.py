"""The batch report as data: what ``content.gather`` reads from the store and
``render`` prints. Times are wall-clock (UTC) datetimes or run seconds ``t_s``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Header:
    line_id: str
    line_kind: str
    recipe_id: str
    recipe_version: int
    recipe_name: str
    content_sha256: str | None  # of the version's text (None: the recipe is not in the store)
    product: str
    run_id: int
    started_at: datetime
    ended_at: datetime | None
    final_state: str | None
    end_reason: str | None
    operators: tuple[str, ...]
    simulated: bool


@dataclass(frozen=True, slots=True)
class SignatureRow:
    username: str
    full_name: str | None
    meaning: str
    reason: str
    signed_at: datetime
    content_sha256: str | None


@dataclass(frozen=True, slots=True)
class FormulaRow:
    """A formula parameter: its setpoint (the value the run ran) and limits in ``unit``, and
    the actual value: the production mean of the tag it was set on (None: no tag measures
    it); ``master_setpoint``: the master recipe's value when the control recipe adjusted it."""

    name: str
    unit: str
    setpoint: float
    low: float | None
    high: float | None
    actual: float | None
    actual_tag: str | None
    master_setpoint: float | None = None

    @property
    def deviation(self) -> float | None:
        """Actual minus setpoint, in ``unit``."""
        return None if self.actual is None else self.actual - self.setpoint

    @property
    def deviation_pct(self) -> float | None:
        """The deviation as a percentage of the setpoint (None: no actual or a zero setpoint)."""
        deviation = self.deviation
        if deviation is None or self.setpoint == 0.0:
            return None
        return 100.0 * deviation / abs(self.setpoint)

    @property
    def within_limits(self) -> bool | None:
        """Whether the actual lies within the parameter's limits (None: no actual or no limits)."""
        if self.actual is None or (self.low is None and self.high is None):
            return None
        return (self.low is None or self.actual >= self.low) and (self.high is None or self.actual <= self.high)


@dataclass(frozen=True, slots=True)
class StepRow:
    index: int
    name: str
    production: bool
    planned_s: float | None  # the time the transition's condition must hold (None: recipe unknown)
    timeout_s: float | None
    started_at: datetime
    actual_s: float | None  # None: still open
    outcome: str | None


@dataclass(frozen=True, slots=True)
class StateSpan:
    """The unit in PackML ``state`` from ``start_t_s`` to ``end_t_s``, entered by ``cause``."""

    state: str
    start_t_s: float
    end_t_s: float
    cause: str

    @property
    def seconds(self) -> float:
        return self.end_t_s - self.start_t_s


@dataclass(frozen=True, slots=True)
class AlarmRow:
    alarm_id: str
    message: str
    priority: str
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None
    state: str
    history: tuple[str, ...]  # each transition: "time state by user: note"


@dataclass(frozen=True, slots=True)
class CommandRow:
    at: datetime
    command: str
    user: str
    accepted: bool
    reason: str | None


@dataclass(frozen=True, slots=True)
class QuantityRow:
    """A quantity of the recipe's specification over production."""

    address: str
    unit: str
    low: float | None
    high: float | None
    mean: float | None
    minimum: float | None
    maximum: float | None
    out_of_spec_s: float
    production_s: float
    in_spec: bool | None


@dataclass(frozen=True, slots=True)
class DeviationRow:
    """Production with outputs forced safe: the product made meanwhile is not the recipe's."""

    started_at: datetime
    ended_at: datetime
    seconds: float
    alarm_ids: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Production:
    quantity_label: str
    quantity: float | None
    quantity_unit: str
    quantity_detail: str
    production_s: float
    verdict: str
    specification: tuple[QuantityRow, ...]
    means: tuple[tuple[str, float, float, float], ...]  # (tag, mean, min, max) over production


@dataclass(frozen=True, slots=True)
class TrendData:
    """A key tag over the run, bucketed: (t_s, avg, min, max) each; its setpoint's series; the
    limits to draw (the specification's, else the formula parameter's)."""

    tag: str
    unit: str
    points: tuple[tuple[float, float, float, float], ...]
    setpoint_tag: str | None
    setpoint_points: tuple[tuple[float, float], ...]
    low: float | None
    high: float | None
    formula_setpoint: float | None  # a formula value set on this tag's loop or setpoint, drawn when no series


@dataclass(frozen=True, slots=True)
class AuditHead:
    id: int
    hash: str
    at: datetime

    @property
    def text(self) -> str:
        return f"audit trail row {self.id}, sha256 {self.hash}"


@dataclass(frozen=True, slots=True)
class Report:
    header: Header
    signatures: tuple[SignatureRow, ...]
    formula: tuple[FormulaRow, ...]
    steps: tuple[StepRow, ...]
    states: tuple[StateSpan, ...]
    alarms: tuple[AlarmRow, ...]
    commands: tuple[CommandRow, ...]
    production: Production
    deviations: tuple[DeviationRow, ...]
    trends: tuple[TrendData, ...]
    audit_head: AuditHead | None
    time_origin: datetime
    sample_count: int
    notes: tuple[str, ...] = field(default=())  # what the report could not read, said plainly
