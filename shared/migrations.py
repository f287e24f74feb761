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


def create_infrastructure_tables() -> None:
    """Migration step of a new service's first revision: every table `shared.db`'s
    `add_infrastructure_tables` declares (outbox, inbox, audit log, idempotency keys, parked
    events). The four first services wrote theirs out in their own first revisions (and added the
    last two later); these are the same tables, so a service's models and migrations agree."""
    create_outbox()
    create_inbox()
    create_audit_log()
    create_idempotency_keys()
    create_parked_events()


def drop_infrastructure_tables() -> None:
    drop_parked_events()
    drop_idempotency_keys()
    drop_audit_log()
    drop_inbox()
    drop_outbox()


def create_outbox() -> None:
    """The transactional outbox (`shared.outbox`)."""
    from alembic import op

    import shared.db

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("stream", sa.String(length=120), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", shared.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"])


def drop_outbox() -> None:
    from alembic import op

    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")


def create_inbox() -> None:
    """The events a consumer has applied (`shared.inbox`)."""
    from alembic import op

    import shared.db

    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=80), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("processed_at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )


def drop_inbox() -> None:
    from alembic import op

    op.drop_table("inbox")


def create_audit_log() -> None:
    """Who changed what (`shared.changes`)."""
    from alembic import op

    import shared.db

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("entity", sa.String(length=80), nullable=False),
        sa.Column("entity_id", sa.String(length=80), nullable=False),
        sa.Column("county_id", sa.String(length=40), nullable=True),
        sa.Column("township_id", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_entity", "audit_log", ["entity", "entity_id"])


def drop_audit_log() -> None:
    from alembic import op

    op.drop_index("ix_audit_entity", table_name="audit_log")
    op.drop_table("audit_log")


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
