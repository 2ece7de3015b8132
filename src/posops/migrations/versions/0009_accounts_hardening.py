"""accounts hardening: session versions, ended sessions, login failures cleared by an admin, API token expiry

Revision ID: 0009_accounts_hardening
Revises: 0001
Create Date: 2026-12-04 09:00:00
"""
import sqlalchemy as sa
from alembic import op

import posops.core.db

revision = "0009_accounts_hardening"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ended_sessions",
        sa.Column("sid", sa.String(length=32), primary_key=True),
        sa.Column("ended_at", posops.core.db.UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ended_sessions_ended_at", "ended_sessions", ["ended_at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default=sa.text("1")))
        batch.add_column(sa.Column("login_cleared_at", posops.core.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("api_tokens") as batch:
        # tokens issued before this revision keep no expiry (NULL): they stay valid until revoked
        batch.add_column(sa.Column("expires_at", posops.core.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("login_cleared_at")
        batch.drop_column("session_version")
    op.drop_index("ix_ended_sessions_ended_at", table_name="ended_sessions")
    op.drop_table("ended_sessions")
