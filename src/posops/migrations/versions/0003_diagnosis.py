"""diagnosis sessions, steps and learned knowledge

Revision ID: 0003_diagnosis
Revises: 0001
Create Date: 2026-11-20 23:10:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import posops.core.db

revision = "0003_diagnosis"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "diagnosis_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("terminal_id", sa.Integer(), nullable=True),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("symptom", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("initial_evidence", JSON, nullable=False),
        sa.Column("fleet_evidence", JSON, nullable=False),
        sa.Column("state", JSON, nullable=False),
        sa.Column("resolved_action", sa.String(length=64), nullable=True),
        sa.Column("resolved_cause", sa.String(length=64), nullable=True),
        sa.Column("created_at", posops.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", posops.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", posops.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"],
                                name=op.f("fk_diagnosis_sessions_terminal_id_terminals")),
        sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"],
                                name=op.f("fk_diagnosis_sessions_merchant_id_merchants")),
        sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                                name=op.f("fk_diagnosis_sessions_created_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_sessions")),
    )
    with op.batch_alter_table("diagnosis_sessions") as batch_op:
        batch_op.create_index(batch_op.f("ix_diagnosis_sessions_terminal_id"), ["terminal_id"])
        batch_op.create_index(batch_op.f("ix_diagnosis_sessions_merchant_id"), ["merchant_id"])
        batch_op.create_index(batch_op.f("ix_diagnosis_sessions_status"), ["status"])
    op.create_table(
        "diagnosis_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("answered_by", sa.String(length=64), nullable=False),
        sa.Column("at", posops.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["diagnosis_sessions.id"],
                                name=op.f("fk_diagnosis_steps_session_id_diagnosis_sessions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_steps")),
        sa.UniqueConstraint("session_id", "seq", name=op.f("uq_diagnosis_steps_session_id")),
    )
    with op.batch_alter_table("diagnosis_steps") as batch_op:
        batch_op.create_index(batch_op.f("ix_diagnosis_steps_session_id"), ["session_id"])
    op.create_table(
        "knowledge_overlays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", posops.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("overlay", JSON, nullable=False),
        sa.Column("report", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_overlays")),
    )


def downgrade() -> None:
    op.drop_table("knowledge_overlays")
    with op.batch_alter_table("diagnosis_steps") as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnosis_steps_session_id"))
    op.drop_table("diagnosis_steps")
    with op.batch_alter_table("diagnosis_sessions") as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnosis_sessions_status"))
        batch_op.drop_index(batch_op.f("ix_diagnosis_sessions_merchant_id"))
        batch_op.drop_index(batch_op.f("ix_diagnosis_sessions_terminal_id"))
    op.drop_table("diagnosis_sessions")
