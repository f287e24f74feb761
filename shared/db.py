"""Database setup shared by the services: engines, per-service metadata, infrastructure tables.

Every service owns its own database and its own SQLAlchemy metadata (a separate SQLModel registry),
so two services may both have a `businesses` table without clashing when imported together.
SQLite (the embedded default) runs in WAL mode and takes the write lock at BEGIN, so concurrent
writers queue on `busy_timeout` instead of failing half-way through a transaction.

Who commits: whoever opened the session owns its transaction. An HTTP command's session is
committed by its route once the answer is ready (`shared.routing`), a batch of events by the inbox,
a scheduler's work by its `Database.session()` block. Service functions may call `commit()` to say
their work is done; inside an HTTP command that only flushes (`UnitOfWorkSession`), so the change,
its events, its audit line and the stored answer of an `Idempotency-Key` commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import registry, sessionmaker
from sqlmodel import Session, SQLModel

from shared.clock import SYSTEM_CLOCK, Clock

DEFER_COMMIT = "shian.defer_commit"

# Errors of the database itself (gone, locked too long, out of connections), as opposed to an error
# of the work at hand: an HTTP request answers them 503, a consumer or relay waits and retries.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
)


class UnitOfWorkSession(Session):
    """A session whose `commit()` only flushes while its owner defers the commit (an HTTP command:
    see `shared.routing`); the owner commits once with `commit_unit_of_work`."""

    def commit(self) -> None:
        if self.info.get(DEFER_COMMIT):
            self.flush()
            return
        super().commit()


def commit_unit_of_work(session: Session) -> None:
    """The real commit of a session whose commits were deferred."""
    session.info.pop(DEFER_COMMIT, None)
    session.commit()


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and gives them back aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class ServiceModel(SQLModel):
    """What every service's `Base` derives from: SQLModel, with the `__table__` that SQLAlchemy
    sets on each table class declared for the type checker (SQLModel does not declare it)."""

    if TYPE_CHECKING:
        __table__: ClassVar[sa.Table]


def service_base(name: str) -> type[SQLModel]:
    """A declarative base with its own registry (and so its own metadata), made at run time: for
    tests and benchmarks that need a throwaway schema. A service declares its `Base` as a class."""
    return type(f"{name.title()}Base", (SQLModel,), {}, registry=registry())


@dataclass(frozen=True)
class InfraTables:
    """Outbox, inbox, audit log and remembered answers: the same tables in every service's database."""

    outbox: sa.Table
    inbox: sa.Table
    audit_log: sa.Table
    idempotency: sa.Table


def add_infrastructure_tables(metadata: sa.MetaData) -> InfraTables:
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("stream", sa.String(120), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=True),
        sa.Index("ix_outbox_unpublished", "published_at", "id"),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("consumer", sa.String(80), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("processed_at", UTCDateTime, nullable=False),
    )
    audit_log = sa.Table(
        "audit_log",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("entity", sa.String(80), nullable=False),
        sa.Column("entity_id", sa.String(80), nullable=False),
        sa.Column("county_id", sa.String(40), nullable=True),
        sa.Column("township_id", sa.String(40), nullable=True),
        sa.Column("detail", sa.JSON, nullable=True),
        sa.Index("ix_audit_entity", "entity", "entity_id"),
    )
    idempotency = sa.Table(
        "idempotency_keys",
        metadata,
        sa.Column("actor", sa.String(120), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("headers", sa.JSON, nullable=True),
        sa.Column("body", sa.LargeBinary, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Index("ix_idempotency_created", "created_at"),
    )
    # Events that arrived before the record they need (shared/parking.py), kept until it arrives.
    # Looked up by name (metadata.tables["parked_events"]) by the inbox processor.
    sa.Table(
        "parked_events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(80), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(80), nullable=False),
        sa.Column("waiting_for", sa.String(200), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("parked_at", UTCDateTime, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="1"),
        sa.Column("last_attempt_at", UTCDateTime, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.UniqueConstraint("consumer", "event_id", name="uq_parked_events_consumer_event"),
        sa.Index("ix_parked_events_waiting", "consumer", "waiting_for"),
    )
    return InfraTables(outbox=outbox, inbox=inbox, audit_log=audit_log, idempotency=idempotency)


def create_db_engine(url: str, *, read_only: bool = False, pool_size: int = 10) -> Engine:
    """An engine for the URL; SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE (or, for a
    read-only engine, a plain deferred BEGIN: WAL readers never wait for the writer).

    On a server database the pool holds `pool_size` connections (sized by the service to its
    HTTP concurrency plus its background work) and a caller waits at most 10 s for one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(
            url, pool_pre_ping=True, pool_size=pool_size, max_overflow=pool_size // 2, pool_timeout=10
        )

    if parsed.database and parsed.database != ":memory:":
        # Private files: operators, addresses, staff and incidents are personal data. The file is
        # created 0600 before SQLite opens it (SQLite gives its -wal and -shm files the database
        # file's mode), in a directory created 0700; files left by older versions are narrowed.
        from contextlib import suppress  # here, not at the top: this block is all that needs it

        path = Path(parsed.database)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():  # a racing process that creates it first creates it 0600 too
            path.touch(mode=0o600)  # an empty file is an empty SQLite database
        for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
            # missing, or another user's file (SQLite will say so if that matters)
            with suppress(FileNotFoundError, PermissionError):
                if file.stat().st_mode & 0o077:
                    file.chmod(0o600)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so savepoints and BEGIN IMMEDIATE work.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)

    return engine


class Database:
    """One service's database: engine, session factory, and where its events and audit go.

    Sessions carry the service's infrastructure tables in `session.info`, so service code can
    call `shared.outbox.emit(session, ...)` and `shared.audit.record(session, ...)` without wiring.
    After a commit that emitted events, the `on_events_committed` callbacks run (the relay's wake-up).
    """

    def __init__(
        self,
        url: str,
        *,
        infra: InfraTables,
        stream: str,
        service: str,
        pool_size: int = 10,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.url = url
        self.clock = clock
        self.infra = infra
        self.stream = stream
        self.service = service
        self.engine = create_db_engine(url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite: a second engine whose transactions do not take the write lock, for reads.
        self.read_engine = create_db_engine(url, read_only=True) if self.is_sqlite else self.engine
        self._read_sessions = sessionmaker(self.read_engine, class_=Session, expire_on_commit=False)
        self._sessions = sessionmaker(
            self.engine,
            class_=UnitOfWorkSession,
            expire_on_commit=False,
            # the service's clock dates the events its sessions emit (a test's or a simulation's too)
            info={"shian.infra": infra, "shian.stream": stream, "shian.clock": clock},
        )
        self.on_events_committed: list[Callable[[], None]] = []

        @event.listens_for(self._sessions, "before_commit")
        def _before_commit(session: Any) -> None:
            from shared.outbox import write_pending_rows  # the outbox builds on this module

            write_pending_rows(session)

        @event.listens_for(self._sessions, "after_commit")
        def _after_commit(session: Any) -> None:
            if session.info.pop("shian.emitted", False):
                for callback in self.on_events_committed:
                    callback()

        @event.listens_for(self._sessions, "after_rollback")
        def _after_rollback(session: Any) -> None:
            from shared.outbox import discard_pending_rows

            session.info.pop("shian.emitted", None)
            discard_pending_rows(session)

    def new_session(self) -> Session:
        """A bare session; the caller owns commit, rollback and close."""
        return self._sessions()

    def new_read_session(self) -> Session:
        """A bare session for reading only (on SQLite it never takes the write lock)."""
        return self._read_sessions()

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only: on SQLite it never waits behind a writing transaction."""
        session = self._read_sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def ping(self) -> None:
        with self.read_engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def claim(session: Session, model: Any, row_id: Any, *conditions: Any, **values: Any) -> bool:
    """Take one row for this run by a conditional UPDATE (`conditions` say it is still free, `values`
    mark it taken): True when this call took it. Of two replicas, or a run and its retry after a
    restart, exactly one gets True, so a deadline notice or a timer fires once."""
    table: sa.Table = model.__table__ if hasattr(model, "__table__") else model
    taken = session.exec(table.update().where(table.c.id == row_id, *conditions).values(**values))
    return taken.rowcount == 1
