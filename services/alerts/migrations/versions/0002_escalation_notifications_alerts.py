"""escalation, notifications, alerts, business directory

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("county_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("township_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("village_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("group_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("business_id", sa.Uuid(), nullable=True),
        sa.Column("banquet_id", sa.Uuid(), nullable=True),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("suppressed_by_incident", sa.Uuid(), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("source_event_id", sa.Uuid(), nullable=False),
        sa.Column("first_seen_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_banquet_id"), ["banquet_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_business_id"), ["business_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_group_key"), ["group_key"], unique=False)
        batch_op.create_index("ix_alerts_kind_subject_status", ["kind", "subject", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_township_id"), ["township_id"], unique=False)

    op.create_table(
        "business_directory",
        sa.Column("business_id", sa.Uuid(), nullable=False),
        sa.Column("county_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("township_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("village_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("business_id"),
    )
    with op.batch_alter_table("business_directory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_business_directory_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_business_directory_township_id"), ["township_id"], unique=False)

    op.create_table(
        "escalation_policies",
        sa.Column("scope_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("county_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("township_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope_id"),
    )
    with op.batch_alter_table("escalation_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_policies_county_id"), ["county_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("county_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("township_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("incident_id", sa.Uuid(), nullable=True),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("step", sa.Integer(), nullable=True),
        sa.Column("tier", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_county_id"), ["county_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index("ix_notifications_status_lease", ["status", "lease_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_notifications_township_id"), ["township_id"], unique=False)

    op.create_table(
        "escalation_timers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("fired_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("escalation_timers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalation_timers_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index("ix_timers_live_due", ["fired_at", "cancelled_at", "due_at"], unique=False)

    op.create_table(
        "incident_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("reported_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("reporter_kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True),
        sa.Column("reporter_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("reporter_contact", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("ill_count", sa.Integer(), nullable=False),
        sa.Column("hospitalised_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("death_count", sa.Integer(), nullable=False),
        sa.Column("onset_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_reports_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "incident_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("incident_timeline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_timeline_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_attempts_notification_id"), ["notification_id"], unique=False
        )

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column("banquet_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("hospitalised_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("suspected_food", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reporter_kind", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reporter_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reporter_contact", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(sa.Column("report_count", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("escalation_steps", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("escalation_step", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("escalation_repeats", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("awaiting_ack", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("acknowledged_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("acknowledged_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(
            sa.Column("first_acknowledged_at", shared.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("responding_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("contained_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", shared.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("closed_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True)
        )
        batch_op.add_column(sa.Column("cause", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch_op.create_index(batch_op.f("ix_incidents_banquet_id"), ["banquet_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_banquet_id"))
        batch_op.drop_column("cause")
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("contained_at")
        batch_op.drop_column("responding_at")
        batch_op.drop_column("first_acknowledged_at")
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("awaiting_ack")
        batch_op.drop_column("escalation_repeats")
        batch_op.drop_column("escalation_step")
        batch_op.drop_column("escalation_steps")
        batch_op.drop_column("report_count")
        batch_op.drop_column("reporter_contact")
        batch_op.drop_column("reporter_name")
        batch_op.drop_column("reporter_kind")
        batch_op.drop_column("suspected_food")
        batch_op.drop_column("hospitalised_count")
        batch_op.drop_column("banquet_id")
        batch_op.drop_column("address")

    with op.batch_alter_table("notification_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_attempts_notification_id"))

    op.drop_table("notification_attempts")
    with op.batch_alter_table("incident_timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_timeline_incident_id"))

    op.drop_table("incident_timeline")
    with op.batch_alter_table("incident_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_reports_incident_id"))

    op.drop_table("incident_reports")
    with op.batch_alter_table("escalation_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_timers_live_due")
        batch_op.drop_index(batch_op.f("ix_escalation_timers_incident_id"))

    op.drop_table("escalation_timers")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_township_id"))
        batch_op.drop_index("ix_notifications_status_lease")
        batch_op.drop_index(batch_op.f("ix_notifications_incident_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_county_id"))
        batch_op.drop_index(batch_op.f("ix_notifications_alert_id"))

    op.drop_table("notifications")
    with op.batch_alter_table("escalation_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalation_policies_county_id"))

    op.drop_table("escalation_policies")
    with op.batch_alter_table("business_directory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_business_directory_township_id"))
        batch_op.drop_index(batch_op.f("ix_business_directory_county_id"))

    op.drop_table("business_directory")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_township_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_status"))
        batch_op.drop_index("ix_alerts_kind_subject_status")
        batch_op.drop_index(batch_op.f("ix_alerts_group_key"))
        batch_op.drop_index(batch_op.f("ix_alerts_county_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_business_id"))
        batch_op.drop_index(batch_op.f("ix_alerts_banquet_id"))

    op.drop_table("alerts")
