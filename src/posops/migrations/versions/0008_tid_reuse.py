"""terminals: a TID is unique among terminals in service, so a replacement device can take over a decommissioned one's

Revision ID: 0008_tid_reuse
Revises: 0007_tickets
Create Date: 2026-12-03 13:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_tid_reuse"
down_revision = "0007_tickets"
branch_labels = None
depends_on = None

LIVE = sa.text("status != 'decommissioned'")


def upgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.drop_constraint(batch.f("uq_terminals_tid"), type_="unique")
        batch.create_index(batch.f("ix_terminals_tid"), ["tid"], unique=False)
        batch.create_index("uq_terminals_tid_live", ["tid"], unique=True, sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade() -> None:
    with op.batch_alter_table("terminals") as batch:
        batch.drop_index("uq_terminals_tid_live", sqlite_where=LIVE, postgresql_where=LIVE)
        batch.drop_index(batch.f("ix_terminals_tid"))
        batch.create_unique_constraint(batch.f("uq_terminals_tid"), ["tid"])
