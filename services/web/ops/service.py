"""What the operations team sees: the same snapshot `shian status` takes (shian/status.py: the
streams and their consumer groups and lag from Redis, each service's readiness, outbox backlog and
parked events from its /readyz and /metrics), the dead letters as `shian deadletters list` lists
them, and their replay (shared/bus.py). Redis is read here because stream state is operational
data, not domain data; nothing else of Redis is touched."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from shared.bus import DeadLetter, list_deadletters, replay_deadletters
from shared.settings import Settings
from shian.status import Snapshot, format_seconds, take_snapshot

log = logging.getLogger("shian.web.ops")
DEADLETTERS_SHOWN = 200

__all__ = ["Board", "board", "format_seconds", "replay"]


@dataclass
class Board:
    snapshot: Snapshot
    deadletters: list[DeadLetter]


async def board(redis: Redis, settings: Settings, urls: dict[str, str]) -> Board:
    snapshot = await take_snapshot(redis, settings, urls)
    letters = await list_deadletters(redis, settings, limit=DEADLETTERS_SHOWN)
    return Board(snapshot=snapshot, deadletters=letters)


async def replay(redis: Redis, settings: Settings, letter_id: str, actor: str) -> bool:
    """Put one dead letter back on its stream (the groups that applied it skip it by its event
    id; the one that failed applies it). False when there is no such dead letter (already
    replayed by someone else: a second click is harmless)."""
    replayed = await replay_deadletters(redis, settings, [letter_id])
    if replayed:
        log.info("dead letter %s replayed by account %s", letter_id, actor)
    return bool(replayed)
