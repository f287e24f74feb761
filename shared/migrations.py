"""Alembic per service: each service keeps its migrations in services/<name>/migrations."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from shared.db import create_db_engine


def alembic_config(migrations: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(migrations: Path, url: str, revision: str = "head") -> None:
    """Bring a service's database to the given revision (creates a SQLite file if needed)."""
    engine = create_db_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(migrations, url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def run_env(metadata: sa.MetaData) -> None:
    """The body of every service's migrations/env.py."""
    from alembic import context

    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url")
        if context.is_offline_mode():
            context.configure(url=url, target_metadata=metadata, literal_binds=True, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
            return
        if url is None:  # create_db_engine would refuse it with the same error, less clearly
            raise sa.exc.ArgumentError("the Alembic configuration has no sqlalchemy.url")
        engine = create_db_engine(url)
        with engine.begin() as connection:
            _run(connection, metadata)
        engine.dispose()
        return
    _run(connection, metadata)


def _run(connection: sa.Connection, metadata: sa.MetaData) -> None:
    from alembic import context

    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def create_idempotency_keys() -> None:
    """Migration step shared by every service: the `idempotency_keys` table (shared.db)."""
    from alembic import op

    import shared.db

    op.create_table(
        "idempotency_keys",
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", shared.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key"),
    )
    op.create_index("ix_idempotency_created", "idempotency_keys", ["created_at"])


def drop_idempotency_keys() -> None:
    from alembic import op

    op.drop_index("ix_idempotency_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")


def create_parked_events() -> None:
    """Migration step shared by every consuming service: the `parked_events` table (shared.db)."""
    from alembic import op

    import shared.db

    op.create_table(
        "parked_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(length=80), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("waiting_for", sa.String(length=200), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("parked_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("last_attempt_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("consumer", "event_id", name="uq_parked_events_consumer_event"),
    )
    op.create_index("ix_parked_events_waiting", "parked_events", ["consumer", "waiting_for"], unique=False)


def drop_parked_events() -> None:
    from alembic import op

    op.drop_index("ix_parked_events_waiting", table_name="parked_events")
    op.drop_table("parked_events")
