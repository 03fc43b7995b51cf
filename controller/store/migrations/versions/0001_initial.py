"""Initial schema: users, tokens, recipes and versions, signatures, runs
(batch records), steps, commands, alarm journal, samples, audit trail.

Besides the tables, database triggers guard two invariants against writes that
bypass the ORM:

* a recipe version that left ``draft`` keeps its yaml text and checksum;
* ``audit_log`` rows are never updated or deleted (append-only).

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_log_hash')),
    sa.UniqueConstraint('prev_hash', name=op.f('uq_audit_log_prev_hash'))
    )
    op.create_table('recipes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipe_id', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recipes')),
    sa.UniqueConstraint('recipe_id', name=op.f('uq_recipes_recipe_id'))
    )
    op.create_table('runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipe_id', sa.String(length=100), nullable=False),
    sa.Column('recipe_version', sa.Integer(), nullable=False),
    sa.Column('line_kind', sa.String(length=32), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('operator', sa.String(length=64), nullable=False),
    sa.Column('simulated', sa.Boolean(), nullable=False),
    sa.Column('time_origin', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_t_s', sa.Float(), nullable=True),
    sa.Column('final_state', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_runs'))
    )
    op.create_index(op.f('ix_runs_recipe_id'), 'runs', ['recipe_id'])

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('viewer', 'operator', 'engineer', 'admin')", name=op.f('ck_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('alarms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('alarm_id', sa.String(length=100), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('condition_active', sa.Boolean(), nullable=False),
    sa.Column('raised_t_s', sa.Float(), nullable=False),
    sa.Column('cleared_t_s', sa.Float(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=64), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shelved_by', sa.String(length=64), nullable=True),
    sa.Column('shelved_until_t_s', sa.Float(), nullable=True),
    sa.CheckConstraint("state IN ('normal', 'unacknowledged', 'acknowledged', 'rtn_unacknowledged', 'shelved')", name=op.f('ck_alarms_state')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_alarms_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarms'))
    )
    op.create_index('ix_alarms_run_id_alarm_id_state', 'alarms', ['run_id', 'alarm_id', 'state'])
    op.create_index('ix_alarms_state', 'alarms', ['state'])

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_tokens_token_sha256'))
    )
    op.create_index(op.f('ix_api_tokens_user_id'), 'api_tokens', ['user_id'])

    op.create_table('recipe_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipe_pk', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('author', sa.String(length=64), nullable=False),
    sa.Column('last_modified_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('draft', 'released_for_testing', 'released_for_production', 'obsolete')", name=op.f('ck_recipe_versions_state')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_recipe_versions_version_positive')),
    sa.ForeignKeyConstraint(['recipe_pk'], ['recipes.id'], name=op.f('fk_recipe_versions_recipe_pk_recipes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recipe_versions')),
    sa.UniqueConstraint('recipe_pk', 'version', name='uq_recipe_versions_recipe_pk_version')
    )
    op.create_table('run_commands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('command', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('t_s', sa.Float(), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_commands_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_commands'))
    )
    op.create_index(op.f('ix_run_commands_run_id'), 'run_commands', ['run_id'])

    op.create_table('run_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('started_s', sa.Float(), nullable=False),
    sa.Column('ended_s', sa.Float(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_run_steps_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_steps'))
    )
    op.create_index('ix_run_steps_run_id_step_index', 'run_steps', ['run_id', 'step_index'])

    op.create_table('samples',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('t_s', sa.Float(), nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('quality', sa.String(length=5), nullable=False),
    sa.CheckConstraint("quality IN ('good', 'stale', 'bad')", name=op.f('ck_samples_quality')),
    sa.ForeignKeyConstraint(['run_id'], ['runs.id'], name=op.f('fk_samples_run_id_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_samples'))
    )
    op.create_index('ix_samples_run_id_tag_t_s', 'samples', ['run_id', 'tag', 't_s'])

    op.create_table('alarm_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alarm_pk', sa.Integer(), nullable=False),
    sa.Column('t_s', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('normal', 'unacknowledged', 'acknowledged', 'rtn_unacknowledged', 'shelved')", name=op.f('ck_alarm_events_state')),
    sa.ForeignKeyConstraint(['alarm_pk'], ['alarms.id'], name=op.f('fk_alarm_events_alarm_pk_alarms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_events'))
    )
    op.create_index(op.f('ix_alarm_events_alarm_pk'), 'alarm_events', ['alarm_pk'])

    op.create_table('signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('recipe_version_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('meaning', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recipe_version_id'], ['recipe_versions.id'], name=op.f('fk_signatures_recipe_version_id_recipe_versions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_signatures_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signatures'))
    )
    op.create_index(op.f('ix_signatures_recipe_version_id'), 'signatures', ['recipe_version_id'])

    _create_guards()


def downgrade() -> None:
    _drop_guards()
    op.drop_index(op.f('ix_signatures_recipe_version_id'), table_name='signatures')

    op.drop_table('signatures')
    op.drop_index(op.f('ix_alarm_events_alarm_pk'), table_name='alarm_events')

    op.drop_table('alarm_events')
    op.drop_index('ix_samples_run_id_tag_t_s', table_name='samples')

    op.drop_table('samples')
    op.drop_index('ix_run_steps_run_id_step_index', table_name='run_steps')

    op.drop_table('run_steps')
    op.drop_index(op.f('ix_run_commands_run_id'), table_name='run_commands')

    op.drop_table('run_commands')
    op.drop_table('recipe_versions')
    op.drop_index(op.f('ix_api_tokens_user_id'), table_name='api_tokens')

    op.drop_table('api_tokens')
    op.drop_index('ix_alarms_state', table_name='alarms')
    op.drop_index('ix_alarms_run_id_alarm_id_state', table_name='alarms')

    op.drop_table('alarms')
    op.drop_table('users')
    op.drop_index(op.f('ix_runs_recipe_id'), table_name='runs')

    op.drop_table('runs')
    op.drop_table('recipes')
    op.drop_table('audit_log')


_IMMUTABLE_MSG = "recipe version is released and immutable; create a new draft version"
_APPEND_ONLY_MSG = "audit_log is append-only"


def _create_guards() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            f"""
            CREATE TRIGGER trg_recipe_versions_immutable
            BEFORE UPDATE OF yaml_text, content_sha256 ON recipe_versions
            WHEN OLD.state <> 'draft'
            BEGIN SELECT RAISE(ABORT, '{_IMMUTABLE_MSG}'); END
            """
        )
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"""
                CREATE TRIGGER trg_audit_log_no_{event.lower()}
                BEFORE {event} ON audit_log
                BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MSG}'); END
                """
            )
    elif dialect == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION poreline_recipe_version_immutable() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                IF OLD.state <> 'draft' AND (NEW.yaml_text IS DISTINCT FROM OLD.yaml_text
                        OR NEW.content_sha256 IS DISTINCT FROM OLD.content_sha256) THEN
                    RAISE EXCEPTION '{_IMMUTABLE_MSG}';
                END IF;
                RETURN NEW;
            END $$
            """
        )
        op.execute(
            """
            CREATE TRIGGER trg_recipe_versions_immutable
            BEFORE UPDATE ON recipe_versions
            FOR EACH ROW EXECUTE FUNCTION poreline_recipe_version_immutable()
            """
        )
        op.execute(
            f"""
            CREATE FUNCTION poreline_audit_log_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{_APPEND_ONLY_MSG}';
            END $$
            """
        )
        op.execute(
            """
            CREATE TRIGGER trg_audit_log_append_only
            BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION poreline_audit_log_append_only()
            """
        )


def _drop_guards() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("trg_recipe_versions_immutable", "trg_audit_log_no_update", "trg_audit_log_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_recipe_versions_immutable ON recipe_versions")
        op.execute("DROP TRIGGER IF EXISTS trg_audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS poreline_recipe_version_immutable()")
        op.execute("DROP FUNCTION IF EXISTS poreline_audit_log_append_only()")
