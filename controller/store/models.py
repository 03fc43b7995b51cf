"""Typed SQLAlchemy 2 models of the Poreline store.

Conventions
-----------
* Wall-clock timestamps are timezone-aware UTC ``datetime`` values
  (:class:`UTCDateTime`); naive datetimes are refused when written.
* Run-relative times are float seconds named ``*_t_s``: seconds since the run's
  ``time_origin`` (virtual seconds for simulated runs).  Alarms that belong to no
  run use Unix epoch seconds.
* Enumerated states are short strings guarded by CHECK constraints (portable and
  easy to migrate, unlike native PostgreSQL enums).

The schema itself is created by the Alembic migrations in
``controller/migrations``; a test checks that models and migrations agree.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

from controller.store.errors import ImmutableVersionError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC wall time and the
    UTC zone is re-attached on load.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} refused: use timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumBase(str, enum.Enum):  # noqa: UP042 - stored values: str() must give the value in every Python
    def __str__(self) -> str:
        return self.value

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(m.value for m in cls)


class Role(StrEnumBase):
    """User roles, in increasing order of privilege."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ENGINEER = "engineer"
    ADMIN = "admin"


class RecipeState(StrEnumBase):
    DRAFT = "draft"
    RELEASED_FOR_TESTING = "released_for_testing"
    RELEASED_FOR_PRODUCTION = "released_for_production"
    OBSOLETE = "obsolete"


class AlarmState(StrEnumBase):
    """ISA-18.2 alarm states kept in the journal."""

    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RTN_UNACKNOWLEDGED = "rtn_unacknowledged"
    SHELVED = "shelved"


class SampleQuality(StrEnumBase):
    GOOD = "good"
    STALE = "stale"
    BAD = "bad"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# SQLite only aliases the rowid for a column declared exactly INTEGER PRIMARY KEY.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


# --------------------------------------------------------------------- users
class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", Role.values()), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    full_name: Mapped[str | None] = mapped_column(String(200))  # printed on the user's signatures
    created_by: Mapped[str | None] = mapped_column(String(64))  # None: created from the CLI
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r}, role={self.role!r}, active={self.active!r})"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]  # for the idle timeout

    user: Mapped[User] = relationship(back_populates="tokens")


# ------------------------------------------------------------------- recipes
class Recipe(Base):
    __tablename__ = "recipes"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipe_id: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)

    versions: Mapped[list[RecipeVersion]] = relationship(
        back_populates="recipe", order_by="RecipeVersion.version"
    )


class RecipeVersion(Base):
    __tablename__ = "recipe_versions"
    __table_args__ = (
        UniqueConstraint("recipe_pk", "version", name="uq_recipe_versions_recipe_pk_version"),
        CheckConstraint(_in("state", RecipeState.values()), name="state"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipe_pk: Mapped[int] = mapped_column(ForeignKey("recipes.id"))
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    author: Mapped[str] = mapped_column(String(64))
    last_modified_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    state: Mapped[str] = mapped_column(String(32), default=RecipeState.DRAFT.value)
    comment: Mapped[str | None] = mapped_column(Text)
    released_for_line: Mapped[str | None] = mapped_column(String(64))  # None: every line of the recipe's kind
    editors: Mapped[list[str] | None] = mapped_column(JSON)  # every user who wrote this version

    recipe: Mapped[Recipe] = relationship(back_populates="versions")
    signatures: Mapped[list[Signature]] = relationship(
        back_populates="recipe_version", order_by="Signature.id"
    )

    @property
    def recipe_id(self) -> str:
        return self.recipe.recipe_id

    @validates("yaml_text", "content_sha256")
    def _guard_content(self, key: str, value: str) -> str:
        # A released version's content never changes (a database trigger
        # enforces the same rule for writes that bypass the ORM).
        state = self.__dict__.get("state")
        if state is None and inspect(self).persistent:
            state = self.state  # expired after commit: reload
        if state is not None and state != RecipeState.DRAFT.value:
            raise ImmutableVersionError(
                f"recipe version {self.version} is {state} and immutable; "
                "edit the recipe to create a new draft version"
            )
        return value


class Signature(Base):
    """An electronic signature on a recipe version: who, when, meaning, reason."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipe_version_id: Mapped[int] = mapped_column(ForeignKey("recipe_versions.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    meaning: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(default=utc_now)
    full_name: Mapped[str | None] = mapped_column(String(200))  # the signer's printed name when signing
    content_sha256: Mapped[str | None] = mapped_column(String(64))  # the text signed

    recipe_version: Mapped[RecipeVersion] = relationship(back_populates="signatures")
    user: Mapped[User] = relationship()


# --------------------------------------------------------------------- runs
class Run(Base):
    """A batch record header."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[str] = mapped_column(String(64), index=True, server_default="line-1")  # e.g. casting-1
    recipe_id: Mapped[str] = mapped_column(String(100), index=True)
    recipe_version: Mapped[int] = mapped_column(Integer)
    line_kind: Mapped[str] = mapped_column(String(32))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    operator: Mapped[str] = mapped_column(String(64))
    simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    time_origin: Mapped[datetime]
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_t_s: Mapped[float | None] = mapped_column(Float)
    final_state: Mapped[str | None] = mapped_column(String(32))
    scan_stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the runtime's scan period and time
    # the product against the recipe's specification: verdict, production seconds, each quantity
    quality: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    end_reason: Mapped[str | None] = mapped_column(Text)  # why it ended, when not by its procedure

    steps: Mapped[list[RunStep]] = relationship(order_by="RunStep.id", cascade="all, delete-orphan")
    commands: Mapped[list[RunCommand]] = relationship(
        order_by="RunCommand.id", cascade="all, delete-orphan"
    )


class RunStep(Base):
    __tablename__ = "run_steps"
    __table_args__ = (Index("ix_run_steps_run_id_step_index", "run_id", "step_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column("step_index", Integer)
    name: Mapped[str] = mapped_column(String(100))
    started_s: Mapped[float] = mapped_column(Float)
    ended_s: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(32))


class RunCommand(Base):
    """An operator (or API/SCADA) command issued during a run, accepted or refused."""

    __tablename__ = "run_commands"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    command: Mapped[str] = mapped_column(String(64))
    user: Mapped[str] = mapped_column("username", String(64))
    t_s: Mapped[float] = mapped_column(Float)
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)


class RunDeviation(Base):
    """A span of a run's production with outputs forced safe by interlocks
    (``controller.engine.deviation``): the product made meanwhile is not the recipe's."""

    __tablename__ = "run_deviations"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    started_t_s: Mapped[float] = mapped_column(Float)
    ended_t_s: Mapped[float] = mapped_column(Float)
    alarm_ids: Mapped[list[str]] = mapped_column(JSON)
    outputs: Mapped[list[str]] = mapped_column(JSON)


# ------------------------------------------------------------------- alarms
class Alarm(Base):
    """One alarm occurrence, from raise until it returns to ``normal``.

    ``state`` is the current ISA-18.2 state; ``condition_active`` tracks the
    process condition separately (needed while shelved).  Every transition is
    also written to :class:`AlarmEvent`.
    """

    __tablename__ = "alarms"
    __table_args__ = (
        CheckConstraint(_in("state", AlarmState.values()), name="state"),
        Index("ix_alarms_run_id_alarm_id_state", "run_id", "alarm_id", "state"),
        Index("ix_alarms_state", "state"),
        Index("ix_alarms_line_id_state", "line_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    line_id: Mapped[str] = mapped_column(String(64), server_default="line-1")
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    alarm_id: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24))
    condition_active: Mapped[bool] = mapped_column(Boolean, default=True)
    raised_t_s: Mapped[float] = mapped_column(Float)
    cleared_t_s: Mapped[float | None] = mapped_column(Float)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]
    shelved_by: Mapped[str | None] = mapped_column(String(64))
    shelved_until_t_s: Mapped[float | None] = mapped_column(Float)

    events: Mapped[list[AlarmEvent]] = relationship(
        order_by="AlarmEvent.id", cascade="all, delete-orphan"
    )


class AlarmEvent(Base):
    """A state transition of an alarm occurrence (the journal's history)."""

    __tablename__ = "alarm_events"
    __table_args__ = (CheckConstraint(_in("state", AlarmState.values()), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alarm_pk: Mapped[int] = mapped_column(ForeignKey("alarms.id", ondelete="CASCADE"), index=True)
    t_s: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)


# ------------------------------------------------------------------ samples
class Sample(Base):
    """One historian sample.  Narrow on purpose: ~10^5-10^6 rows per run."""

    __tablename__ = "samples"
    __table_args__ = (
        CheckConstraint(_in("quality", SampleQuality.values()), name="quality"),
        # covering: trends read value from the index alone (migration 0002)
        Index("ix_samples_run_id_tag_t_s_value", "run_id", "tag", "t_s", "value"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    t_s: Mapped[float] = mapped_column(Float)
    tag: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[str] = mapped_column(String(5), default=SampleQuality.GOOD.value)


ROLLUP_S = 60  # width of a sample rollup: one minute of run time


class SampleRollup(Base):
    """One tag's samples over one minute of a run (``minute`` = floor(t_s / 60)): how many
    non-null values, their sum, min and max.  The BatchRecorder maintains it with every
    sample write; a trend over a wide window reads these instead of every sample, as a
    process historian's pre-aggregated tier does (migration 0003)."""

    __tablename__ = "sample_rollups"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value_count: Mapped[int] = mapped_column(Integer)  # non-null values; 0 if the minute had only nulls
    value_sum: Mapped[float] = mapped_column(Float)
    value_min: Mapped[float | None] = mapped_column(Float)
    value_max: Mapped[float | None] = mapped_column(Float)


# -------------------------------------------------------------------- audit
class HistorianProgress(Base):
    """Per line, the sequence number of the last historian event committed (written in the
    same transaction as the event, so a replay after an outage writes each event once)."""

    __tablename__ = "historian_progress"

    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only, hash-chained audit trail (see :mod:`controller.store.audit`).

    ``id`` is assigned by the appender (last id + 1 under a lock), never by a
    sequence, so ids are gap-free and a gap means a deleted row.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

