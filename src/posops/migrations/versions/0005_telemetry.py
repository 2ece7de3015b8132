"""telemetry: heartbeat history, latest snapshots, dead letters, terminal tokens, incidents, scheduled runs

Revision ID: 0005_telemetry
Revises: 0001
Create Date: 2026-11-21 09:40:00
"""
import sqlalchemy as sa
from alembic import op

import posops.core.db

revision = "0005_telemetry"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_DATETIME = posops.core.db.UTCDateTime(timezone=True)
OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_table(
        "terminal_heartbeats",
        sa.Column("sn", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("ts", UTC_DATETIME, nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("battery_pct", sa.SmallInteger(), nullable=True),
        sa.Column("signal_dbm", sa.SmallInteger(), nullable=True),
        sa.Column("reads", sa.BigInteger(), nullable=True),
        sa.Column("read_errors", sa.BigInteger(), nullable=True),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_terminal_heartbeats_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("sn", "seq", name=op.f("pk_terminal_heartbeats")),
    )
    with op.batch_alter_table("terminal_heartbeats") as batch_op:
        batch_op.create_index(batch_op.f("ix_terminal_heartbeats_received_at"), ["received_at"])
        batch_op.create_index("ix_terminal_heartbeats_terminal_received", ["terminal_id", "received_at"])
    op.create_table(
        "telemetry_snapshots",
        sa.Column("terminal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sn", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts", UTC_DATETIME, nullable=False),
        sa.Column("last_seen_at", UTC_DATETIME, nullable=False),
        sa.Column("app_version", sa.String(length=64), nullable=True),
        sa.Column("failing", sa.Boolean(), nullable=False),
        sa.Column("failure_reasons", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_telemetry_snapshots_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_telemetry_snapshots")),
    )
    op.create_table(
        "telemetry_dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=True),
        sa.Column("sn", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_dead_letters")),
        sa.UniqueConstraint("digest", name=op.f("uq_telemetry_dead_letters_digest")),
    )
    with op.batch_alter_table("telemetry_dead_letters") as batch_op:
        batch_op.create_index(batch_op.f("ix_telemetry_dead_letters_received_at"), ["received_at"])
    op.create_table(
        "telemetry_terminal_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("last_used_at", UTC_DATETIME, nullable=True),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_telemetry_terminal_tokens_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_terminal_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_telemetry_terminal_tokens_token_hash")),
    )
    with op.batch_alter_table("telemetry_terminal_tokens") as batch_op:
        batch_op.create_index(batch_op.f("ix_telemetry_terminal_tokens_terminal_id"), ["terminal_id"])
    op.create_table(
        "telemetry_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("group_first", sa.String(length=64), nullable=False),
        sa.Column("group_second", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("closed_at", UTC_DATETIME, nullable=True),
        sa.Column("calm_since", UTC_DATETIME, nullable=True),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("terminals", sa.Integer(), nullable=False),
        sa.Column("failing", sa.Integer(), nullable=False),
        sa.Column("peak_share", sa.Float(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_incidents")),
    )
    with op.batch_alter_table("telemetry_incidents") as batch_op:
        batch_op.create_index(batch_op.f("ix_telemetry_incidents_status"), ["status"])
        # At most one open incident per group, whichever worker or operator runs the scan.
        batch_op.create_index("uq_telemetry_incidents_open_group", ["dimension", "group_first", "group_second"],
                              unique=True, sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table(
        "telemetry_incident_terminals",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=False),
        sa.Column("since", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["telemetry_incidents.id"],
                                name=op.f("fk_telemetry_incident_terminals_incident_id_telemetry_incidents")),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_telemetry_incident_terminals_terminal_id_terminals")),
        sa.PrimaryKeyConstraint("incident_id", "terminal_id", name=op.f("pk_telemetry_incident_terminals")),
    )
    with op.batch_alter_table("telemetry_incident_terminals") as batch_op:
        batch_op.create_index(batch_op.f("ix_telemetry_incident_terminals_terminal_id"), ["terminal_id"])
    op.create_table(
        "telemetry_incident_samples",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("terminals", sa.Integer(), nullable=False),
        sa.Column("failing", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["telemetry_incidents.id"],
                                name=op.f("fk_telemetry_incident_samples_incident_id_telemetry_incidents")),
        sa.PrimaryKeyConstraint("incident_id", "at", name=op.f("pk_telemetry_incident_samples")),
    )
    op.create_table(
        "telemetry_baselines",
        sa.Column("dimension", sa.String(length=8), nullable=False),
        sa.Column("group_first", sa.String(length=64), nullable=False),
        sa.Column("group_second", sa.String(length=64), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("dimension", "group_first", "group_second", name=op.f("pk_telemetry_baselines")),
    )
    op.create_table(
        "scheduled_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=32), nullable=False),
        sa.Column("slot", sa.String(length=32), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=False),
        sa.Column("claimed_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("result", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_runs")),
        sa.UniqueConstraint("job", "slot", name="uq_scheduled_runs_job_slot"),
    )


def downgrade() -> None:
    op.drop_table("scheduled_runs")
    op.drop_table("telemetry_baselines")
    op.drop_table("telemetry_incident_samples")
    with op.batch_alter_table("telemetry_incident_terminals") as batch_op:
        batch_op.drop_index(batch_op.f("ix_telemetry_incident_terminals_terminal_id"))
    op.drop_table("telemetry_incident_terminals")
    with op.batch_alter_table("telemetry_incidents") as batch_op:
        batch_op.drop_index("uq_telemetry_incidents_open_group", sqlite_where=OPEN, postgresql_where=OPEN)
        batch_op.drop_index(batch_op.f("ix_telemetry_incidents_status"))
    op.drop_table("telemetry_incidents")
    with op.batch_alter_table("telemetry_terminal_tokens") as batch_op:
        batch_op.drop_index(batch_op.f("ix_telemetry_terminal_tokens_terminal_id"))
    op.drop_table("telemetry_terminal_tokens")
    with op.batch_alter_table("telemetry_dead_letters") as batch_op:
        batch_op.drop_index(batch_op.f("ix_telemetry_dead_letters_received_at"))
    op.drop_table("telemetry_dead_letters")
    op.drop_table("telemetry_snapshots")
    with op.batch_alter_table("terminal_heartbeats") as batch_op:
        batch_op.drop_index("ix_terminal_heartbeats_terminal_received")
        batch_op.drop_index(batch_op.f("ix_terminal_heartbeats_received_at"))
    op.drop_table("terminal_heartbeats")
