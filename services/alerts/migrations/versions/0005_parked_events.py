"""parked events: events held until the record they need arrives

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from shared.migrations import create_parked_events, drop_parked_events

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_parked_events()


def downgrade() -> None:
    drop_parked_events()
