"""tickets: repair tickets, technicians' work, maintenance records, technician regions, loaners and reservations

Revision ID: 0007_tickets
Revises: 0001
Create Date: 2026-12-03 13:40:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import posops.core.db

revision = '0007_tickets'
down_revision = '0001'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC_DATETIME = posops.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('technician_profiles',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('regions', JSON, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_technician_profiles_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_technician_profiles'))
    )
    op.create_table('loaners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('pool_merchant_id', sa.Integer(), nullable=False),
    sa.Column('home_mid', sa.String(length=15), nullable=False),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['pool_merchant_id'], ['merchants.id'], name=op.f('fk_loaners_pool_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_loaners_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loaners')),
    sa.UniqueConstraint('terminal_id', name=op.f('uq_loaners_terminal_id'))
    )
    with op.batch_alter_table('loaners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loaners_region'), ['region'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('merchant_id', sa.Integer(), nullable=False),
    sa.Column('diagnosis_id', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('waiting_for', sa.String(length=16), nullable=True),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('symptom', sa.String(length=32), nullable=True),
    sa.Column('suspected_cause', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('prefill', JSON, nullable=False),
    sa.Column('materials', JSON, nullable=False),
    sa.Column('in_warranty', sa.Boolean(), nullable=True),
    sa.Column('region', sa.String(length=64), nullable=False),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.Column('opened_by_role', sa.String(length=16), nullable=False),
    sa.Column('assignee_user_id', sa.Integer(), nullable=True),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('scheduled_for', UTC_DATETIME, nullable=True),
    sa.Column('sla_started_at', UTC_DATETIME, nullable=False),
    sa.Column('sla_paused_minutes', sa.Integer(), nullable=False),
    sa.Column('sla_paused_since', UTC_DATETIME, nullable=True),
    sa.Column('respond_by', UTC_DATETIME, nullable=False),
    sa.Column('resolve_by', UTC_DATETIME, nullable=True),
    sa.Column('responded_at', UTC_DATETIME, nullable=True),
    sa.Column('repaired_at', UTC_DATETIME, nullable=True),
    sa.Column('accepted_at', UTC_DATETIME, nullable=True),
    sa.Column('closed_at', UTC_DATETIME, nullable=True),
    sa.Column('respond_breached', sa.Boolean(), nullable=False),
    sa.Column('resolve_breached', sa.Boolean(), nullable=False),
    sa.Column('acceptance_proof', JSON, nullable=True),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.Column('updated_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['assignee_user_id'], ['users.id'], name=op.f('fk_tickets_assignee_user_id_users')),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], name=op.f('fk_tickets_merchant_id_merchants')),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'], name=op.f('fk_tickets_terminal_id_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('diagnosis_id', name=op.f('uq_tickets_diagnosis_id'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_assignee_user_id'), ['assignee_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_region'), ['region'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_resolve_breached'), ['resolve_breached'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_status'), ['status'], unique=False)
        batch_op.create_index('ix_tickets_status_resolve_by', ['status', 'resolve_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_terminal_id'), ['terminal_id'], unique=False)

    op.create_table('loaner_reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loaner_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('begins_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reserved_by', sa.String(length=64), nullable=False),
    sa.Column('handed_over_at', UTC_DATETIME, nullable=True),
    sa.Column('returned_at', UTC_DATETIME, nullable=True),
    sa.Column('created_at', UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['loaner_id'], ['loaners.id'], name=op.f('fk_loaner_reservations_loaner_id_loaners')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_loaner_reservations_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loaner_reservations'))
    )
    with op.batch_alter_table('loaner_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loaner_reservations_loaner_id'), ['loaner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loaner_reservations_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_loaner_reservations_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('maintenance_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('terminal_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('technician', sa.String(length=64), nullable=False),
    sa.Column('requested_at', UTC_DATETIME, nullable=False),
    sa.Column('finished_at', UTC_DATETIME, nullable=False),
    sa.Column('corrective', sa.Boolean(), nullable=False),
    sa.Column('cause', sa.String(length=64), nullable=True),
    sa.Column('work', sa.Text(), nullable=False),
    sa.Column('parts', JSON, nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('cost_fen', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['terminals.id'],
                            name=op.f('fk_maintenance_records_terminal_id_terminals')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_maintenance_records_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_records')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_maintenance_records_ticket_id'))
    )
    with op.batch_alter_table('maintenance_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_records_finished_at'), ['finished_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_records_terminal_id'), ['terminal_id'], unique=False)

    op.create_table('ticket_work',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('technician', sa.String(length=64), nullable=False),
    sa.Column('at', UTC_DATETIME, nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('confirmed_cause', sa.String(length=64), nullable=True),
    sa.Column('parts', JSON, nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_work_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_work'))
    )
    with op.batch_alter_table('ticket_work', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_work_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ticket_work', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_work_ticket_id'))

    op.drop_table('ticket_work')
    with op.batch_alter_table('maintenance_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_records_terminal_id'))
        batch_op.drop_index(batch_op.f('ix_maintenance_records_finished_at'))

    op.drop_table('maintenance_records')
    with op.batch_alter_table('loaner_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loaner_reservations_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_loaner_reservations_status'))
        batch_op.drop_index(batch_op.f('ix_loaner_reservations_loaner_id'))

    op.drop_table('loaner_reservations')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_terminal_id'))
        batch_op.drop_index('ix_tickets_status_resolve_by')
        batch_op.drop_index(batch_op.f('ix_tickets_status'))
        batch_op.drop_index(batch_op.f('ix_tickets_resolve_breached'))
        batch_op.drop_index(batch_op.f('ix_tickets_region'))
        batch_op.drop_index(batch_op.f('ix_tickets_merchant_id'))
        batch_op.drop_index(batch_op.f('ix_tickets_assignee_user_id'))

    op.drop_table('tickets')
    with op.batch_alter_table('loaners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loaners_region'))

    op.drop_table('loaners')
    op.drop_table('technician_profiles')
