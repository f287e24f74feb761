"""notification channels a county configures, the retry schedule of notifications (kind, rounds,
next attempt), and the acknowledgement links

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_channels",
        sa.Column("county_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("county_id", "name"),
    )
    op.create_table(
        "ack_links",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_via", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ack_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ack_links_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ack_links_notification_id"), ["notification_id"], unique=False)
        batch_op.create_index("ix_ack_links_recipient_used", ["recipient", "used_at"], unique=False)

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=20),
                nullable=False,
                server_default="escalation",
            )
        )
        batch_op.add_column(sa.Column("rounds", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("next_attempt_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.alter_column(
            "status",
            existing_type=sa.VARCHAR(length=12),
            type_=sqlmodel.sql.sqltypes.AutoString(length=14),
            existing_nullable=False,
        )
        batch_op.create_index("ix_notifications_status_next", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_status_next")
        batch_op.alter_column(
            "status",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=14),
            type_=sa.VARCHAR(length=12),
            existing_nullable=False,
        )
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("rounds")
        batch_op.drop_column("kind")

    with op.batch_alter_table("ack_links", schema=None) as batch_op:
        batch_op.drop_index("ix_ack_links_recipient_used")
        batch_op.drop_index(batch_op.f("ix_ack_links_notification_id"))
        batch_op.drop_index(batch_op.f("ix_ack_links_incident_id"))

    op.drop_table("ack_links")
    op.drop_table("notification_channels")
