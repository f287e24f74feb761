"""The event catalogue as an AsyncAPI document.

    faststream docs gen shared.asyncapi:app          # writes asyncapi.json
    faststream docs serve shared.asyncapi:app        # browsable

Every catalogued event is a publisher on its producer's stream; the payload schema is the pydantic
model in shared/events.py, wrapped in the common envelope.
"""

from __future__ import annotations

from faststream import FastStream
from faststream.redis import RedisBroker
from faststream.specification import AsyncAPI

from shared.events import CATALOGUE
from shared.settings import get_settings


def build_app() -> FastStream:
    settings = get_settings()
    broker = RedisBroker(settings.redis_url)
    for (event_type, version), payload in sorted(CATALOGUE.items()):
        broker.publisher(
            stream=settings.stream(payload.PRODUCER),
            title=f"{event_type} v{version}",
            description=(payload.__doc__ or "").strip()
            + " Carried as the `payload` of the envelope (event_id, type, version, occurred_at, "
            "county_id, township_id, actor, correlation_id).",
            schema=payload,
        )
    return FastStream(
        broker,
        specification=AsyncAPI(
            broker,
            title="Shian events",
            version="1",
            description="Events between Shian's services on Redis Streams: one stream per producer.",
        ),
    )


app = build_app()
