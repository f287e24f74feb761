"""A rebuild from scratch gives the same figures as the live read model, from the streams, and
from the archive alone once the streams are trimmed."""

from __future__ import annotations

import redis
import sqlalchemy as sa

from services.reporting.handlers import CONSUMES
from services.reporting.readmodels.archive import ArchivedEvent
from services.reporting.readmodels.registry import ReportBusiness
from services.reporting.rebuild.service import RebuildReport, StreamSource, apply, rebuild
from shared.events import Envelope
from tests.support.county import COUNTY, DONGSHAN, XISHUI
from tests.support.reporting import Known


def everything(known: Known) -> list[dict]:
    return [known.stats(place) for place in (COUNTY, DONGSHAN, XISHUI)]


def test_a_rebuild_gives_the_figures_of_the_live_read_model(known: Known):
    settings = known.county.settings
    db = known.county.reporting.app.state.runtime.db
    streams = [settings.stream(name) for name in CONSUMES]
    live = everything(known)
    archived = known.archived()

    # events consumed before the archive existed: only the streams still hold them
    with db.session() as session:
        table = ArchivedEvent.__table__
        oldest = session.execute(sa.select(table.c.seq).order_by(table.c.seq).limit(5)).scalars().all()
        session.execute(table.delete().where(table.c.seq.in_(oldest)))
        session.execute(ReportBusiness.__table__.update().values(kind="tampered"))

    calls: list[tuple[int, int]] = []
    source = StreamSource(settings.redis_url, streams)
    try:
        report = rebuild(db, streams=source, progress=lambda done, total: calls.append((done, total)))
    finally:
        source.close()
    assert report.from_archive == archived - 5
    assert report.from_streams == 5
    assert calls and calls[-1][0] == calls[-1][1] >= archived
    assert everything(known) == live
    assert known.archived() == archived

    # the streams are trimmed: the archive alone is enough
    client = redis.Redis.from_url(settings.redis_url)
    try:
        for stream in streams:
            client.xtrim(stream, maxlen=0)
    finally:
        client.close()
    with db.session() as session:
        session.execute(ReportBusiness.__table__.delete())
    source = StreamSource(settings.redis_url, streams)
    try:
        report = rebuild(db, streams=source)
    finally:
        source.close()
    assert (report.from_archive, report.from_streams) == (archived, 0)
    assert everything(known) == live


def test_events_delivered_again_change_nothing(known: Known):
    """The inbox drops a redelivery; and the projections themselves are keyed, so even applying
    every event a second time (as a replay over a live read model would) changes no figure."""
    runtime = known.county.reporting.app.state.runtime
    live = everything(known)
    with runtime.db.read_session() as session:
        bodies = session.execute(sa.select(ArchivedEvent.__table__.c.body)).scalars().all()
    envelopes = [Envelope.from_bytes(body) for body in bodies]

    result = runtime.processor.process(envelopes)
    assert set(result.outcomes.values()) == {"duplicate"}

    report = RebuildReport()
    with runtime.db.session() as session:
        for envelope in envelopes:
            apply(session, envelope, report)
    assert report.applied > 30
    assert everything(known) == live
