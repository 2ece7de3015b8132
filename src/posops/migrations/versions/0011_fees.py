"""fees: rate cards, merchants' contracts, typed-in volumes, statements and their lines, the checks' flags

Revision ID: 0011_fees
Revises: 0001
Create Date: 2026-12-08 00:10:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import posops.core.db

revision = "0011_fees"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC_DATETIME = posops.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table("fee_rate_cards",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("provider", sa.String(length=64), nullable=False),
    sa.Column("product", sa.String(length=16), nullable=False),
    sa.Column("merchant_class", sa.String(length=16), nullable=False),
    sa.Column("parts", JSON, nullable=False),
    sa.Column("valid_from", sa.Date(), nullable=False),
    sa.Column("valid_to", sa.Date(), nullable=True),
    sa.Column("source", sa.String(length=500), nullable=False),
    sa.Column("source_date", sa.Date(), nullable=False),
    sa.Column("is_example", sa.Boolean(), nullable=False),
    sa.Column("created_by", sa.String(length=64), nullable=False),
    sa.Column("created_by_user_id", sa.Integer(), nullable=True),
    sa.Column("created_at", UTC_DATETIME, nullable=False),
    sa.Column("updated_at", UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                            name=op.f("fk_fee_rate_cards_created_by_user_id_users")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_rate_cards")),
    sa.UniqueConstraint("provider", "product", "merchant_class", "valid_from",
                        name=op.f("uq_fee_rate_cards_provider"))
    )
    op.create_table("fee_contracts",
    sa.Column("merchant_id", sa.Integer(), nullable=False),
    sa.Column("rate_card_id", sa.Integer(), nullable=False),
    sa.Column("merchant_class", sa.String(length=16), nullable=False),
    sa.Column("registered_mcc", sa.String(length=4), nullable=False),
    sa.Column("updated_by", sa.String(length=64), nullable=False),
    sa.Column("updated_at", UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name=op.f("fk_fee_contracts_merchant_id_merchants")),
    sa.ForeignKeyConstraint(["rate_card_id"], ["fee_rate_cards.id"],
                            name=op.f("fk_fee_contracts_rate_card_id_fee_rate_cards")),
    sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_fee_contracts"))
    )
    with op.batch_alter_table("fee_contracts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fee_contracts_rate_card_id"), ["rate_card_id"], unique=False)

    op.create_table("fee_volumes",
    sa.Column("merchant_id", sa.Integer(), nullable=False),
    sa.Column("channel", sa.String(length=8), nullable=False),
    sa.Column("card_type", sa.String(length=8), nullable=False),
    sa.Column("count", sa.Integer(), nullable=False),
    sa.Column("amount_fen", sa.BigInteger(), nullable=False),
    sa.Column("updated_by", sa.String(length=64), nullable=False),
    sa.Column("updated_at", UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name=op.f("fk_fee_volumes_merchant_id_merchants")),
    sa.PrimaryKeyConstraint("merchant_id", "channel", "card_type", name=op.f("pk_fee_volumes"))
    )
    op.create_table("fee_statements",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("merchant_id", sa.Integer(), nullable=False),
    sa.Column("source_name", sa.String(length=255), nullable=False),
    sa.Column("imported_by", sa.String(length=64), nullable=False),
    sa.Column("imported_by_user_id", sa.Integer(), nullable=True),
    sa.Column("imported_at", UTC_DATETIME, nullable=False),
    sa.Column("first_date", sa.Date(), nullable=False),
    sa.Column("last_date", sa.Date(), nullable=False),
    sa.Column("line_count", sa.Integer(), nullable=False),
    sa.Column("amount_fen", sa.BigInteger(), nullable=False),
    sa.Column("charged_fen", sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name=op.f("fk_fee_statements_merchant_id_merchants")),
    sa.ForeignKeyConstraint(["imported_by_user_id"], ["users.id"],
                            name=op.f("fk_fee_statements_imported_by_user_id_users")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_statements"))
    )
    with op.batch_alter_table("fee_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fee_statements_merchant_id"), ["merchant_id"], unique=False)

    op.create_table("fee_statement_lines",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("statement_id", sa.Integer(), nullable=False),
    sa.Column("line", sa.Integer(), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("channel", sa.String(length=8), nullable=False),
    sa.Column("card_type", sa.String(length=8), nullable=False),
    sa.Column("amount_fen", sa.BigInteger(), nullable=False),
    sa.Column("charged_fen", sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(["statement_id"], ["fee_statements.id"],
                            name=op.f("fk_fee_statement_lines_statement_id_fee_statements")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_statement_lines"))
    )
    with op.batch_alter_table("fee_statement_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fee_statement_lines_statement_id"), ["statement_id"], unique=False)

    op.create_table("fee_flags",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=16), nullable=False),
    sa.Column("merchant_id", sa.Integer(), nullable=False),
    sa.Column("terminal_id", sa.Integer(), nullable=True),
    sa.Column("subject", sa.String(length=64), nullable=False),
    sa.Column("statement_line_id", sa.Integer(), nullable=True),
    sa.Column("detail", JSON, nullable=False),
    sa.Column("amount_fen", sa.BigInteger(), nullable=True),
    sa.Column("status", sa.String(length=8), nullable=False),
    sa.Column("seen_at", UTC_DATETIME, nullable=False),
    sa.Column("created_by", sa.String(length=64), nullable=False),
    sa.Column("closed_by", sa.String(length=64), nullable=True),
    sa.Column("closed_at", UTC_DATETIME, nullable=True),
    sa.Column("note", sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(["merchant_id"], ["merchants.id"], name=op.f("fk_fee_flags_merchant_id_merchants")),
    sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_fee_flags_terminal_id_terminals")),
    sa.ForeignKeyConstraint(["statement_line_id"], ["fee_statement_lines.id"],
                            name=op.f("fk_fee_flags_statement_line_id_fee_statement_lines")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_flags")),
    sa.UniqueConstraint("kind", "merchant_id", "subject", name=op.f("uq_fee_flags_kind"))
    )
    with op.batch_alter_table("fee_flags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fee_flags_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index("ix_fee_flags_status_kind", ["status", "kind"], unique=False)


def downgrade() -> None:
    op.drop_table("fee_flags")
    op.drop_table("fee_statement_lines")
    op.drop_table("fee_statements")
    op.drop_table("fee_volumes")
    op.drop_table("fee_contracts")
    op.drop_table("fee_rate_cards")
