"""Request and response models of the REST API: every field documented, units in names.

Times named ``*_t_s`` are process seconds of the run (simulated seconds on the built-in
simulator); ``*_at`` fields are UTC wall-clock timestamps.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from controller.engine.states import Command
from controller.store.users import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"


class _Strict(BaseModel):
    """Request bodies refuse unknown fields so that a typo is a 422 naming the field."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ errors
class ErrorResponse(BaseModel):
    detail: str = Field(description="Why the request was refused, naming the field or object at fault")


class StateConflict(BaseModel):
    detail: str = Field(description="Why the command does not fit")
    state: str = Field(description="The current PackML state of the unit")


class RecipeErrorOut(BaseModel):
    field: str = Field(description="Dotted path into the recipe YAML, e.g. procedure[3].actions[1].value")
    rule: str = Field(description="Id of the validation rule that found the problem")
    message: str = Field(description="What is wrong, in words")
    severity: str = Field("error", description="error or warning")


class RecipeInvalidResponse(BaseModel):
    detail: str = Field(description="Summary: the recipe is invalid")
    errors: list[RecipeErrorOut] = Field(description="Every error, as the CLI prints them")


# -------------------------------------------------------------------- auth
class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ENGINEER = "engineer"
    ADMIN = "admin"


class LoginRequest(_Strict):
    username: str = Field(min_length=1, max_length=64, description="User name")
    password: str = Field(min_length=1, max_length=1024, description="Password")


class TokenResponse(BaseModel):
    access_token: str = Field(description="Bearer token for the Authorization header")
    token_type: str = Field("bearer", description="Always 'bearer'")
    expires_at: datetime = Field(description="When the token stops working (UTC)")
    username: str = Field(description="The user the token belongs to")
    role: Role = Field(description="The user's role")


# The password policy (controller.store.users) is checked by the routes, which answer a 422 with a
# one-line reason that never echoes the password; the schema advertises the same minimum.
_NEW_PASSWORD = {"minLength": MIN_PASSWORD_LENGTH}


class UserCreate(_Strict):
    username: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN, description="New user name")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH, json_schema_extra=_NEW_PASSWORD,
                          description=f"Initial password ({MIN_PASSWORD_LENGTH} characters or more)")
    role: Role = Field(description="viewer < operator < engineer < admin")
    full_name: str | None = Field(None, min_length=1, max_length=200,
                                  description="Printed name shown on the user's e-signatures (default: the user name)")


class UserOut(BaseModel):
    username: str = Field(description="User name")
    role: Role = Field(description="Role")
    active: bool = Field(description="False: the user can no longer log in")
    created_at: datetime = Field(description="When the user was created (UTC)")
    full_name: str | None = Field(None, description="Printed name on the user's e-signatures (null: the user name)")
    created_by: str | None = Field(None, description="The admin who created the account through the API "
                                                     "(null: created from the CLI)")
    failed_logins: int = Field(0, description="Wrong passwords in a row (logins and signatures)")
    locked_until: datetime | None = Field(None, description="Locked after wrong passwords until then (UTC); "
                                                            "null: not locked")


class PasswordReset(_Strict):
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH, json_schema_extra=_NEW_PASSWORD,
                          description=f"The user's new password ({MIN_PASSWORD_LENGTH} characters or more); "
                                      "every token of the user is revoked and the account unlocked")


class TokensRevoked(BaseModel):
    username: str = Field(description="Whose tokens")
    tokens_revoked: int = Field(description="How many tokens were still valid and are now revoked")


# ----------------------------------------------------------------- recipes
class RecipeText(_Strict):
    yaml_text: str = Field(min_length=1, max_length=1_000_000, description="The recipe as YAML text")
    comment: str | None = Field(None, max_length=2000, description="Why this version exists")


class RecipeDraftUpdate(_Strict):
    yaml_text: str = Field(min_length=1, max_length=1_000_000, description="New YAML text of the draft")


class SignatureRequest(_Strict):
    username: str = Field(min_length=1, max_length=64,
                          description="The signer re-enters their user name (must be the logged-in user's)")
    password: str = Field(min_length=1, max_length=1024, description="The signer re-enters their password")
    reason: str = Field(min_length=1, max_length=2000, description="Why the signer signs (recorded)")


class ProductionReleaseRequest(SignatureRequest):
    line_id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$",
                                description="The one line the release is for (e.g. line-2); omitted: every line "
                                            "of the recipe's kind. A run on another line is refused.")


class SignatureOut(BaseModel):
    username: str = Field(description="Who signed (user name)")
    full_name: str = Field(description="The signer's printed name when signing")
    meaning: str = Field(description="What the signature means, e.g. released_for_production")
    reason: str = Field(description="The reason the signer gave")
    signed_at: datetime = Field(description="When (UTC)")
    content_sha256: str | None = Field(description="sha256 of the recipe text signed (a run refuses a text that "
                                                   "differs from the text its release signed)")


class RecipeVersionSummary(BaseModel):
    version: int = Field(description="Version number, 1 for the first")
    state: str = Field(description="draft, released_for_testing, released_for_production or obsolete")
    author: str = Field(description="Who created the version")
    updated_at: datetime = Field(description="Last change (UTC)")


class RecipeSummary(BaseModel):
    recipe_id: str = Field(description="Recipe id (the YAML header's id)")
    versions: list[RecipeVersionSummary] = Field(description="Every version, oldest first")


class RecipeVersionOut(BaseModel):
    recipe_id: str = Field(description="Recipe id")
    version: int = Field(description="Version number")
    state: str = Field(description="Release state")
    yaml_text: str = Field(description="The recipe text")
    content_sha256: str = Field(description="sha256 of the text")
    author: str = Field(description="Who created the version")
    last_modified_by: str = Field(description="Who last edited it")
    editors: list[str] = Field(description="Everyone who created or edited the version (none of them may approve "
                                           "it for production)")
    created_at: datetime = Field(description="Created (UTC)")
    updated_at: datetime = Field(description="Last change (UTC)")
    comment: str | None = Field(description="Comment given at creation")
    released_for_line: str | None = Field(None, description="The one line a production release is for; null: every "
                                                            "line of the recipe's kind")
    signatures: list[SignatureOut] = Field(description="Electronic signatures, oldest first")


class ValidationResult(BaseModel):
    valid: bool = Field(description="True when the recipe compiles")
    errors: list[RecipeErrorOut] = Field(description="Errors (the same as `poreline validate`)")
    warnings: list[RecipeErrorOut] = Field(description="Warnings (do not stop the recipe)")


class RecipeDiff(BaseModel):
    recipe_id: str = Field(description="Recipe id")
    from_version: int = Field(description="Older side")
    to_version: int = Field(description="Newer side")
    diff: str = Field(description="Unified diff of the YAML texts ('' when identical)")


# -------------------------------------------------------------------- runs
class RunStart(_Strict):
    recipe_id: str = Field(min_length=1, max_length=100, pattern=NAME_PATTERN, description="Recipe to run")
    version: int = Field(ge=1, le=2_000_000_000, description="Version to run (must be released)")
    reason: str = Field("", max_length=2000, description="Why (kept with the start in the batch record)")
    adjustments: dict[str, float] = Field(
        default_factory=dict, max_length=64,
        description="Control-recipe adjustments (engineers): formula parameter -> the value to run, in the unit "
                    "the recipe states it, within the limits the master recipe declares; parameters without "
                    "limits are fixed. The batch record keeps each master value beside the value run.")


class UnitModeRequest(_Strict):
    mode: Literal["production", "maintenance", "manual"] = Field(
        description="production: recipes run; maintenance and manual: the line is worked on, no run starts")
    reason: str = Field(min_length=1, max_length=2000, description="Why (kept in the audit trail)")


class LoopRequest(_Strict):
    mode: Literal["auto", "manual", "off"] = Field(description="auto: the PID drives the output to the setpoint; "
                                                   "manual: the output is held (at `output`, else where it is); "
                                                   "off: the output goes to its safe value")
    setpoint: float | None = Field(None, allow_inf_nan=False,
                                   description="New setpoint, in the measurement's unit and within its range")
    output: float | None = Field(None, allow_inf_nan=False,
                                 description="Manual output, in the output's unit and within its limits")
    reason: str = Field(min_length=1, max_length=2000, description="Why (kept in the audit trail and the batch record)")


class LoopOut(BaseModel):
    loop: str = Field(description="The loop's name in the line's control")
    mode: str = Field(description="auto, manual or off")
    setpoint: float = Field(description="Setpoint, in `measurement_unit`")
    output: float = Field(description="Output as last computed or written, in `output_unit`")
    measurement: str = Field(description="The measured tag it controls (device.tag)")
    measurement_value: float | None = Field(description="Its last value")
    measurement_unit: str
    setpoint_low: float = Field(description="The setpoint's range: the measurement's engineering range")
    setpoint_high: float
    output_address: str = Field(description="The output tag it drives (device.tag)")
    output_unit: str
    output_low: float = Field(description="The output's limits")
    output_high: float
    forced_by: list[str] = Field(description="Latched interlocks forcing its output safe (only off is accepted then)")
    held_safe: bool = Field(description="Its output is a drive the hold keeps safe (only off is accepted then)")


class CommandBody(_Strict):
    reason: str = Field("", max_length=2000, description="Why (kept with the command in the batch record)")


# The PackML commands of a current run: every engine command but start (POST /runs starts)
RunCommandName = StrEnum("RunCommandName", {c.name: c.value for c in Command if c is not Command.START})  # type: ignore[misc]


class _AlarmText(BaseModel):
    """What identifies an alarm to an operator: its id and its text."""

    alarm_id: str = Field(description="Alarm id")
    message: str = Field(description="Alarm text")


class _UnitClock(BaseModel):
    """Where the unit is: its PackML state and the line clock."""

    state: str = Field(description="PackML state of the unit")
    t_s: float = Field(description="Process time of the line clock, s")


class ActiveAlarmOut(_AlarmText):
    priority: int = Field(description="1 critical ... 4 low (ISA-18.2)")
    state: str = Field(description="unacknowledged, acknowledged, rtn_unacknowledged or shelved")
    raised_t_s: float = Field(description="When it was raised, process seconds")
    shelved_until_t_s: float | None = Field(None, description="Shelf expiry, process seconds")


class RunStatus(_UnitClock):
    unit_mode: str = Field("Production", description="PackML unit mode: Production (runs start), Maintenance or Manual "
                                                     "(no run starts)")
    run_id: int | None = Field(description="Batch record id of the current run (None before the first scan)")
    recipe_id: str | None = Field(description="Loaded recipe")
    recipe_version: int | None = Field(description="Loaded recipe version")
    step_index: int = Field(description="0-based step index (-1 before the first step)")
    step_name: str | None = Field(description="Current step")
    step_elapsed_s: float = Field(description="Time spent executing the current step, process s")
    accepted_commands: list[str] = Field(description="Commands the current state accepts")
    step_count: int = Field(0, description="Steps of the loaded recipe")
    step_condition: str | None = Field(None, description="The current step's transition condition")
    step_hold_for_s: float | None = Field(None, description="How long the condition must hold, process s")
    step_condition_true_s: float | None = Field(None, description="How long it has held (None: not met), process s")
    step_timeout_s: float | None = Field(None, description="The transition's timeout, process s")
    step_timeout_elapsed_s: float | None = Field(None, description="Time counted toward the timeout, process s")
    hold_reason: str | None = Field(None, description="Why the unit holds: 'held by alarm X' or 'held by user Y: "
                                                      "reason' (None unless Holding or Held)")
    alarms: list[ActiveAlarmOut] = Field(description="Annunciated and shelved alarms")
    line_id: str = Field(description="The line's id (its built-in line's name unless configured)")
    line_kind: str = Field(description="The line's kind")
    scanning: bool = Field(description="The runtime scans (false: its state is not to be trusted, see /line/health)")


class CommandAccepted(BaseModel):
    command: str = Field(description="The command the runtime acted on")
    target_state: str = Field(description="The state the command leads to")
    state: str = Field(description="The state after the runtime acted on it")


class AuditHeadOut(BaseModel):
    id: int = Field(description="Id of the audit trail's newest entry")
    hash: str = Field(description="Its sha256 chain hash")
    at: datetime = Field(description="When the head was read (UTC)")


class RunInfoOut(BaseModel):
    id: int = Field(description="Run (batch record) id")
    line_id: str = Field(description="The line the run ran on")
    recipe_id: str = Field(description="Recipe id")
    recipe_version: int = Field(description="Recipe version")
    line_kind: str = Field(description="Line kind (`poreline kinds` lists them)")
    operator: str = Field(description="Who started it")
    simulated: bool = Field(description="Run on the simulator")
    started_at: datetime = Field(description="Start (UTC)")
    ended_at: datetime | None = Field(description="End (UTC)")
    ended_t_s: float | None = Field(description="Run seconds at the end")
    final_state: str | None = Field(description="Complete, Stopped or Aborted; None while running")
    end_reason: str | None = Field(None, description="Why the run ended, when the line said (e.g. controller lost)")
    quality_verdict: str | None = Field(None, description="The product against the recipe's specification: in spec, "
                                        "out of spec, no production, not specified (null: still running or "
                                        "recorded before verdicts)")


class DeviationOut(BaseModel):
    started_t_s: float = Field(description="Start, run seconds")
    ended_t_s: float = Field(description="End, run seconds (the run executed again with no output forced, or ended)")
    seconds: float = Field(description="Duration, s")
    alarm_ids: list[str] = Field(description="The interlocks that forced outputs safe")
    outputs: list[str] = Field(description="The outputs forced safe (device.tag)")


class BatchRecordOut(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    run: dict[str, Any] = Field(description="Run header: recipe, parameters, operator, times")
    steps: list[dict[str, Any]] = Field(description="Step log (started_s, ended_s in run seconds)")
    commands: list[dict[str, Any]] = Field(description="Operator and system commands")
    alarms: list[dict[str, Any]] = Field(description="Alarm occurrences with their ISA-18.2 events")
    deviations: list[DeviationOut] = Field(description="Production deviations: spans of production with outputs "
                                                       "forced safe by interlocks (the product made meanwhile is "
                                                       "not the recipe's)")
    deviation_s: float = Field(description="Seconds of production with outputs forced safe, all deviations")
    sample_count: int = Field(description="Historian samples stored")
    tags: list[str] = Field(description="Tags with samples")
    audit_head: AuditHeadOut | None = Field(None, description="The audit trail's newest entry when this record was "
                                            "read: keep it with the report, `poreline audit verify` detects rows "
                                            "deleted or rewritten up to it (null: empty trail)")


class FormulaActualOut(BaseModel):
    name: str = Field(description="Formula parameter")
    unit: str
    setpoint: float = Field(description="The value the run ran: the recipe's, or its control-recipe adjustment")
    master_setpoint: float | None = Field(description="The master recipe's value when the run adjusted it (null: "
                                                      "not adjusted)")
    low: float | None = Field(description="Its low limit")
    high: float | None = Field(description="Its high limit")
    actual: float | None = Field(description="Production mean of the tag it was set on, in `unit` (null: none measures it)")
    actual_tag: str | None = Field(description="That tag")
    deviation: float | None = Field(description="Actual minus setpoint, in `unit`")


class SpecifiedQuantityOut(BaseModel):
    address: str = Field(description="The specified tag")
    unit: str
    low: float | None
    high: float | None
    mean: float | None = Field(description="Over production")
    minimum: float | None
    maximum: float | None
    out_of_spec_s: float = Field(description="Production seconds outside the specification")
    in_spec: bool | None


class TagMeanOut(BaseModel):
    tag: str
    mean: float = Field(description="Over production")
    minimum: float
    maximum: float


class RunSummaryOut(BaseModel):
    run_id: int
    recipe_id: str
    recipe_version: int
    final_state: str | None = Field(description="null while running")
    quantity_label: str = Field(description="What the line made, e.g. 'Membrane cast'")
    quantity: float | None = Field(description="How much (null: not known)")
    quantity_unit: str
    quantity_detail: str = Field(description="How it was counted")
    production_s: float = Field(description="Production time (production steps while executing), run seconds")
    deviation_s: float = Field(description="Production seconds with outputs forced safe by interlocks")
    verdict: str = Field(description="The product against the recipe's specification")
    specification: list[SpecifiedQuantityOut] = Field(description="Each specified quantity over production")
    means: list[TagMeanOut] = Field(description="The line kind's key tags over production")
    formula: list[FormulaActualOut] = Field(description="Each formula parameter against its production actual")


class TrendPointOut(BaseModel):
    t_s: float = Field(description="Bucket start, run seconds")
    t_end_s: float = Field(description="Bucket end, run seconds")
    count: int = Field(description="Samples with a value in the bucket")
    avg: float | None = Field(description="Mean value, in the tag's unit")
    min: float | None = Field(description="Minimum")
    max: float | None = Field(description="Maximum")


class TrendOut(BaseModel):
    run_id: int = Field(description="Run id")
    tag: str = Field(description="device.tag")
    unit: str | None = Field(description="Unit of the values (from the device profile)")
    points: list[TrendPointOut] = Field(description="At most max_points buckets, oldest first")


# -------------------------------------------------------------------- line
class TagValue(BaseModel):
    address: str = Field(description="device.tag")
    label: str = Field(description="The tag's name as words, without its unit")
    value: float | None = Field(description="Last value read or written, in `unit`")
    display: str = Field(description="The value as an operator reads it: rounded to `resolution`, on/off for a "
                         "discrete tag, — when there is none")
    unit: str = Field(description="Engineering unit (device profile)")
    display_unit: str = Field(description="The unit as shown (°C for degC, % for percent)")
    resolution: float | None = Field(description="The step the value is read to, in `unit` (null: scientific notation)")
    direction: str = Field(description="measured, setpoint, command, status or derived")
    low: float = Field(description="Engineering low limit")
    high: float = Field(description="Engineering high limit")
    quality: str = Field(description="Quality of the device's last reading (good, stale, bad_comm); for a "
                         "derived tag good, or not_computed when no soft sensor of this run computes it")
    timestamp: datetime | None = Field(description="When the value was read (UTC)")


class MeasuredTag(TagValue):
    setpoint: TagValue | None = Field(None, description="The setpoint tag that sets this measurement, paired with it")


class DeviceTags(BaseModel):
    device: str = Field(description="The device's name in the line definition")
    label: str = Field(description="Its name as words")
    kind: str = Field(description="Its profile's kind, e.g. gear_pump")
    quality: str = Field(description="Quality of its last reading (good, stale, bad_comm)")
    measurements: list[MeasuredTag] = Field(description="Measured and status tags, each with its setpoint when it has one")
    setpoints: list[TagValue] = Field(description="Setpoints no measurement of the device is paired with (outputs to "
                                      "actuators such as heater outputs)")
    commands: list[TagValue] = Field(description="Discrete outputs (on/off)")
    derived: list[TagValue] = Field(description="Quality estimates the controller computes for this device")


class LineState(_UnitClock):
    scanned_at: datetime | None = Field(description="Wall time of the last scan (UTC)")
    devices: list[DeviceTags] = Field(description="Every device in process order with its tags")


class LineHealth(BaseModel):
    connected: bool = Field(description="The API reaches the line runtime")
    endpoint: str = Field(description="The runtime's channel")
    scanning: bool = Field(description="The runtime scans on time (false: the line's state is not to be trusted)")
    line_id: str | None = Field(None, description="The line")
    scan: dict[str, Any] | None = Field(None, description="Scan period and execution time, wall s: min, p50, p99, "
                                        "max over the last hour of scans; overruns, failed scans")
    historian: dict[str, Any] | None = Field(None, description="Events queued and spooled, spool size, dropped samples")


class LineSummary(BaseModel):
    line_id: str = Field(description="The line, e.g. line-1 (the line_id parameter of the line's routes)")
    endpoint: str = Field(description="Its runtime's channel")
    connected: bool = Field(description="The API reaches the runtime")
    scanning: bool = Field(description="The runtime scans on time")
    line_kind: str | None = Field(None, description="The kind of line the runtime runs (null while not connected)")
    state: str | None = Field(None, description="PackML state (null while not connected or not scanning)")
    run_id: int | None = Field(None, description="The current run")


class DeviceHealth(BaseModel):
    device: str = Field(description="Device name")
    kind: str = Field(description="Device type")
    quality: str = Field(description="good, bad_comm, stale ...")
    healthy: bool = Field(description="quality is good")


# ------------------------------------------------------------------ alarms
class ShelveRequest(_Strict):
    duration_s: float = Field(gt=0, le=8 * 3600, allow_inf_nan=False,
                              description="Shelf length, wall seconds (at most 8 h)")
    reason: str = Field(min_length=1, max_length=2000, description="Why the alarm is shelved")


class AlarmEventOut(BaseModel):
    t_s: float = Field(description="When, process seconds")
    state: str = Field(description="State entered")
    actor: str | None = Field(description="Who (None: the controller)")
    note: str | None = Field(description="Note")


class AlarmHistoryOut(_AlarmText):
    run_id: int | None = Field(description="Run the occurrence belongs to (None: raised while no run was active; "
                               "its times are then Unix epoch seconds)")
    priority: str = Field(description="Priority")
    state: str = Field(description="Current state of the occurrence")
    raised_t_s: float = Field(description="Raised, process s")
    cleared_t_s: float | None = Field(description="Condition cleared, process s")
    acknowledged_by: str | None = Field(description="Who acknowledged")
    shelved_until_t_s: float | None = Field(description="Shelf expiry, process s")
    events: list[AlarmEventOut] = Field(description="Transitions, oldest first")


# ------------------------------------------------------------------- audit
class AuditEntryOut(BaseModel):
    id: int = Field(description="Gap-free sequence number")
    at: datetime = Field(description="When (UTC)")
    actor: str = Field(description="Who")
    action: str = Field(description="What, e.g. recipe.released_for_production, run.hold")
    subject: str = Field(description="On what")
    details: dict[str, Any] = Field(description="Details")
    hash: str = Field(description="sha256 chain hash of the row")


class AuditVerifyOut(BaseModel):
    ok: bool = Field(description="True when the chain is intact")
    first_bad_id: int | None = Field(description="First edited, missing or mislinked row")
    reason: str = Field(description="Explanation")
    rows_checked: int = Field(description="Rows verified")


# --------------------------------------------------------------------- sim
class FaultRequest(_Strict):
    kind: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN,
                      description="A fault kind the line's simulator offers (GET /sim/faults lists them)")
    device: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN,
                        description="Device name (one of the offered kind's devices)")
    tag: str | None = Field(None, min_length=1, max_length=64, pattern=NAME_PATTERN,
                            description="Tag (only for a kind that needs one, e.g. a frozen sensor)")


class FaultOffered(BaseModel):
    kind: str = Field(description="Fault kind, as POST /sim/faults takes it")
    description: str = Field(description="What the fault does to the plant, in words")
    devices: list[str] = Field(description="The devices of this line the fault applies to")
    needs_tag: bool = Field(description="The fault is on one tag of the device (give the tag)")


class FaultsOut(BaseModel):
    active: list[str] = Field(description="Active faults, in words")
    offered: list[FaultOffered] = Field(description="The faults the running line's simulator offers")


class Health(BaseModel):
    status: str = Field(description="ok")
