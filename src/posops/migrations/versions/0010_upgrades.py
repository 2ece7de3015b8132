"""upgrades: packages, compatibility, minimums, campaigns, targets, reports, wave checks; shop hours, terminal tags

Revision ID: 0010_upgrades
Revises: 0005_telemetry (needs 0002_lifecycle)
Create Date: 2026-12-07 23:20:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import posops.core.db

revision = "0010_upgrades"
down_revision = "0005_telemetry"
branch_labels = None
depends_on = "0002_lifecycle"

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC_DATETIME = posops.core.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("time_zone", sa.String(length=64), server_default="Asia/Shanghai",
                                      nullable=False))
        batch_op.add_column(sa.Column("opens_at", sa.String(length=5), server_default="08:00", nullable=False))
        batch_op.add_column(sa.Column("closes_at", sa.String(length=5), server_default="22:00", nullable=False))
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tags", JSON, server_default=sa.text("'[]'"), nullable=False))

    op.create_table("upgrade_packages",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(length=8), nullable=False),
    sa.Column("model", sa.String(length=64), nullable=False),
    sa.Column("version", sa.String(length=32), nullable=False),
    sa.Column("sha256", sa.String(length=64), nullable=False),
    sa.Column("size_bytes", sa.BigInteger(), nullable=False),
    sa.Column("document_id", sa.Integer(), nullable=True),
    sa.Column("notes_zh", sa.Text(), nullable=False),
    sa.Column("notes_en", sa.Text(), nullable=False),
    sa.Column("created_by", sa.String(length=64), nullable=False),
    sa.Column("created_at", UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(["document_id"], ["stored_documents.id"],
                            name=op.f("fk_upgrade_packages_document_id_stored_documents")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_upgrade_packages")),
    sa.UniqueConstraint("kind", "model", "version", name=op.f("uq_upgrade_packages_kind"))
    )
    with op.batch_alter_table("upgrade_packages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upgrade_packages_model"), ["model"], unique=False)

    op.create_table("upgrade_compatibility",
    sa.Column("model", sa.String(length=64), nullable=False),
    sa.Column("firmware", sa.String(length=32), nullable=False),
    sa.Column("app", sa.String(length=32), nullable=False),
    sa.Column("compatible", sa.Boolean(), nullable=False),
    sa.Column("note", sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint("model", "firmware", "app", name=op.f("pk_upgrade_compatibility"))
    )
    op.create_table("upgrade_minimums",
    sa.Column("model", sa.String(length=64), nullable=False),
    sa.Column("kind", sa.String(length=8), nullable=False),
    sa.Column("version", sa.String(length=32), nullable=False),
    sa.Column("acquirer", sa.String(length=64), nullable=False),
    sa.Column("updated_at", UTC_DATETIME, nullable=False),
    sa.PrimaryKeyConstraint("model", "kind", name=op.f("pk_upgrade_minimums"))
    )
    op.create_table("upgrade_campaigns",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("name", sa.String(length=128), nullable=False),
    sa.Column("package_id", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(length=20), nullable=False),
    sa.Column("filters", JSON, nullable=False),
    sa.Column("waves", JSON, nullable=False),
    sa.Column("window_start", sa.String(length=5), nullable=True),
    sa.Column("window_end", sa.String(length=5), nullable=True),
    sa.Column("wifi_only", sa.Boolean(), nullable=False),
    sa.Column("force", sa.Boolean(), nullable=False),
    sa.Column("starts_at", UTC_DATETIME, nullable=True),
    sa.Column("expires_at", UTC_DATETIME, nullable=True),
    sa.Column("current_wave", sa.SmallInteger(), nullable=False),
    sa.Column("wave_opened_at", UTC_DATETIME, nullable=True),
    sa.Column("rollback_of", sa.Integer(), nullable=True),
    sa.Column("halted_on", sa.String(length=32), nullable=True),
    sa.Column("halt_detail", JSON, nullable=True),
    sa.Column("incident_id", sa.Integer(), nullable=True),
    sa.Column("created_by", sa.String(length=64), nullable=False),
    sa.Column("created_by_user_id", sa.Integer(), nullable=True),
    sa.Column("approved_by", sa.String(length=64), nullable=True),
    sa.Column("approved_by_user_id", sa.Integer(), nullable=True),
    sa.Column("approved_at", UTC_DATETIME, nullable=True),
    sa.Column("started_at", UTC_DATETIME, nullable=True),
    sa.Column("ended_at", UTC_DATETIME, nullable=True),
    sa.Column("created_at", UTC_DATETIME, nullable=False),
    sa.Column("updated_at", UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(["package_id"], ["upgrade_packages.id"],
                            name=op.f("fk_upgrade_campaigns_package_id_upgrade_packages")),
    sa.ForeignKeyConstraint(["rollback_of"], ["upgrade_campaigns.id"],
                            name=op.f("fk_upgrade_campaigns_rollback_of_upgrade_campaigns")),
    sa.ForeignKeyConstraint(["incident_id"], ["telemetry_incidents.id"],
                            name=op.f("fk_upgrade_campaigns_incident_id_telemetry_incidents")),
    sa.ForeignKeyConstraint(["created_by_user_id"], ["users.id"],
                            name=op.f("fk_upgrade_campaigns_created_by_user_id_users")),
    sa.ForeignKeyConstraint(["approved_by_user_id"], ["users.id"],
                            name=op.f("fk_upgrade_campaigns_approved_by_user_id_users")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_upgrade_campaigns"))
    )
    with op.batch_alter_table("upgrade_campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upgrade_campaigns_package_id"), ["package_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_upgrade_campaigns_status"), ["status"], unique=False)

    op.create_table("upgrade_targets",
    sa.Column("campaign_id", sa.Integer(), nullable=False),
    sa.Column("terminal_id", sa.Integer(), nullable=False),
    sa.Column("wave", sa.SmallInteger(), nullable=False),
    sa.Column("model", sa.String(length=64), nullable=False),
    sa.Column("from_version", sa.String(length=32), nullable=False),
    sa.Column("state", sa.String(length=16), nullable=False),
    sa.Column("attempts", sa.SmallInteger(), nullable=False),
    sa.Column("last_code", sa.String(length=32), nullable=True),
    sa.Column("offered_at", UTC_DATETIME, nullable=True),
    sa.Column("installed_at", UTC_DATETIME, nullable=True),
    sa.Column("updated_at", UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(["campaign_id"], ["upgrade_campaigns.id"],
                            name=op.f("fk_upgrade_targets_campaign_id_upgrade_campaigns")),
    sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_upgrade_targets_terminal_id_terminals")),
    sa.PrimaryKeyConstraint("campaign_id", "terminal_id", name=op.f("pk_upgrade_targets"))
    )
    with op.batch_alter_table("upgrade_targets", schema=None) as batch_op:
        batch_op.create_index("ix_upgrade_targets_campaign_wave_state", ["campaign_id", "wave", "state"], unique=False)
        batch_op.create_index(batch_op.f("ix_upgrade_targets_terminal_id"), ["terminal_id"], unique=False)

    op.create_table("upgrade_reports",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("campaign_id", sa.Integer(), nullable=False),
    sa.Column("terminal_id", sa.Integer(), nullable=False),
    sa.Column("report_id", sa.String(length=64), nullable=False),
    sa.Column("step", sa.String(length=16), nullable=False),
    sa.Column("code", sa.String(length=32), nullable=True),
    sa.Column("detail", sa.String(length=255), nullable=False),
    sa.Column("at", UTC_DATETIME, nullable=False),
    sa.Column("received_at", UTC_DATETIME, nullable=False),
    sa.ForeignKeyConstraint(["campaign_id"], ["upgrade_campaigns.id"],
                            name=op.f("fk_upgrade_reports_campaign_id_upgrade_campaigns")),
    sa.ForeignKeyConstraint(["terminal_id"], ["terminals.id"], name=op.f("fk_upgrade_reports_terminal_id_terminals")),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_upgrade_reports")),
    sa.UniqueConstraint("terminal_id", "report_id", name=op.f("uq_upgrade_reports_terminal_id"))
    )
    with op.batch_alter_table("upgrade_reports", schema=None) as batch_op:
        batch_op.create_index("ix_upgrade_reports_campaign_terminal", ["campaign_id", "terminal_id"], unique=False)

    op.create_table("upgrade_wave_checks",
    sa.Column("campaign_id", sa.Integer(), nullable=False),
    sa.Column("wave", sa.SmallInteger(), nullable=False),
    sa.Column("at", UTC_DATETIME, nullable=False),
    sa.Column("targeted", sa.Integer(), nullable=False),
    sa.Column("installed", sa.Integer(), nullable=False),
    sa.Column("failed", sa.Integer(), nullable=False),
    sa.Column("verdict", sa.String(length=8), nullable=False),
    sa.Column("signals", JSON, nullable=False),
    sa.ForeignKeyConstraint(["campaign_id"], ["upgrade_campaigns.id"],
                            name=op.f("fk_upgrade_wave_checks_campaign_id_upgrade_campaigns")),
    sa.PrimaryKeyConstraint("campaign_id", "wave", "at", name=op.f("pk_upgrade_wave_checks"))
    )


def downgrade() -> None:
    op.drop_table("upgrade_wave_checks")
    op.drop_table("upgrade_reports")
    op.drop_table("upgrade_targets")
    op.drop_table("upgrade_campaigns")
    op.drop_table("upgrade_minimums")
    op.drop_table("upgrade_compatibility")
    op.drop_table("upgrade_packages")
    with op.batch_alter_table("terminals", schema=None) as batch_op:
        batch_op.drop_column("tags")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("closes_at")
        batch_op.drop_column("opens_at")
        batch_op.drop_column("time_zone")
