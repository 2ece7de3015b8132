"""iso8583: traffic analyses attached to terminals

Revision ID: 0004_iso8583
Revises: 0001
Create Date: 2026-11-20 22:54:48.812506
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import posops.core.db

revision = '0004_iso8583'
down_revision = '0001'
branch_labels = None
depends_on = "0002_lifecycle"

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('traffic_analyses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_name', sa.String(length=255), nullable=False),
    sa.Column('analysed_at', posops.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('analysed_by', sa.String(length=64), nullable=False),
    sa.Column('analysed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('frames', sa.Integer(), nullable=False),
    sa.Column('malformed', sa.Integer(), nullable=False),
    sa.Column('traffic_started', posops.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('traffic_ended', posops.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('matched_terminals', sa.Integer(), nullable=False),
    sa.Column('unknown_tids', JSON, nullable=False),
    sa.Column('summary', JSON, nullable=False),
    sa.ForeignKeyConstraint(['analysed_by_user_id'], ['users.id'],
        name=op.f('fk_traffic_analyses_analysed_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_traffic_analyses'))
    )
    with op.batch_alter_table('traffic_analyses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_traffic_analyses_analysed_at'), ['analysed_at'], unique=False)

    op.create_table('terminal_traffic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('analysis_id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('tid', sa.String(length=8), nullable=False),
    sa.Column('analysed_at', posops.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_seen', posops.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen', posops.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_outcome_code', sa.String(length=16), nullable=True),
    sa.Column('last_approved_transaction_at', posops.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('summary', JSON, nullable=False),
    sa.Column('evidence', JSON, nullable=False),
    sa.ForeignKeyConstraint(['analysis_id'], ['traffic_analyses.id'],
        name=op.f('fk_terminal_traffic_analysis_id_traffic_analyses')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_terminal_traffic_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terminal_traffic'))
    )
    with op.batch_alter_table('terminal_traffic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_terminal_traffic_analysis_id'), ['analysis_id'], unique=False)
        batch_op.create_index('ix_terminal_traffic_latest', ['terminal_id', 'last_seen', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('terminal_traffic', schema=None) as batch_op:
        batch_op.drop_index('ix_terminal_traffic_latest')
        batch_op.drop_index(batch_op.f('ix_terminal_traffic_analysis_id'))

    op.drop_table('terminal_traffic')
    with op.batch_alter_table('traffic_analyses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_traffic_analyses_analysed_at'))

    op.drop_table('traffic_analyses')
