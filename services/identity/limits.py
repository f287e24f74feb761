"""Sign-in attempts per account and per client address, counted in Redis (shared by replicas).

`shared.admission.RateCounter` counts per minute too, but it is asynchronous, and sign-in runs in
its route's one worker thread with its unit of work (`shared.routing`); this is its synchronous
twin on a connection of its own, counting by the service's clock so tests can move the window.
As there, while Redis does not answer nothing is counted for a few seconds: the limit protects
the service and must not stop it. The lockout after repeated failures is kept in the database and
holds whatever Redis does.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

log = logging.getLogger("shian.identity.limits")


@dataclass(frozen=True)
class Limited:
    retry_after: int


class AttemptLimiter:
    PAUSE_SECONDS = 5.0

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self._redis: Redis | None = None
        self._paused_until = 0.0

    def _client(self) -> Redis:
        if self._redis is None:
            self._redis = Redis.from_url(self.redis_url, socket_timeout=1.0, socket_connect_timeout=0.5)
        return self._redis

    def count(self, kind: str, who: str, now: datetime) -> int:
        """The attempts of this minute after this one, or 0 when they could not be counted."""
        if time.monotonic() < self._paused_until:
            return 0
        key = f"{self.prefix}:identity:attempts:{kind}:{who}:{int(now.timestamp() // 60)}"
        try:
            pipe = self._client().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = pipe.execute()
            return int(count)
        except Exception as error:
            log.warning("sign-in attempts not counted for %.0fs: %s", self.PAUSE_SECONDS, error)
            self._paused_until = time.monotonic() + self.PAUSE_SECONDS
            return 0

    def check(self, now: datetime, limits: list[tuple[str, str, int]]) -> Limited | None:
        """Count one attempt under each (kind, who, limit); Limited when any is past its limit."""
        over = False
        for kind, who, limit in limits:
            over = self.count(kind, who, now) > limit or over
        if over:
            return Limited(retry_after=max(1, 60 - int(now.timestamp()) % 60))
        return None

    def close(self) -> None:
        if self._redis is not None:
            self._redis.close()
            self._redis = None
