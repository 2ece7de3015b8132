"""diagnosis hand-over: merchant-led sessions, the desk's queue, why a session was handed over

Revision ID: 0006_diagnosis_handover
Revises: 0003_diagnosis
Create Date: 2026-12-03 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_diagnosis_handover"
down_revision = "0003_diagnosis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("diagnosis_sessions") as batch:
        batch.add_column(sa.Column("merchant_led", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("waiting_for_desk", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("handover_reason", sa.String(length=16), nullable=True))
        batch.create_index("ix_diagnosis_sessions_waiting_for_desk", ["waiting_for_desk"])


def downgrade() -> None:
    with op.batch_alter_table("diagnosis_sessions") as batch:
        batch.drop_index("ix_diagnosis_sessions_waiting_for_desk")
        batch.drop_column("handover_reason")
        batch.drop_column("waiting_for_desk")
        batch.drop_column("merchant_led")
