"""banquet directory: where each filed banquet was held, to check a report naming one

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "banquet_directory",
        sa.Column("banquet_id", sa.Uuid(), nullable=False),
        sa.Column("county_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("township_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("village_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("updated_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("banquet_id"),
    )
    with op.batch_alter_table("banquet_directory", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_banquet_directory_county_id"), ["county_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("banquet_directory", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_banquet_directory_county_id"))
    op.drop_table("banquet_directory")
