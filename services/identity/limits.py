"""Sign-in attempts per account and per client address, counted in Redis (shared by replicas).

The counting is the app's own `shared.admission.RateCounter` (the rate limit's), through its
blocking face: sign-in runs in its route's one worker thread with its unit of work
(`shared.routing`). This adds identity's policy: which keys, which limits, one window a minute by
the service's clock (tests move it). While Redis does not answer nothing is counted for a few
seconds: the limit protects the service and must not stop it. The lockout after repeated failures
is kept in the database and holds whatever Redis does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.admission import RateCounter


@dataclass(frozen=True)
class Limited:
    retry_after: int


class AttemptLimiter:
    def __init__(self, counter: RateCounter, prefix: str) -> None:
        self.counter = counter
        self.prefix = prefix

    def count(self, kind: str, who: str, now: datetime) -> int:
        """The attempts of this minute after this one, or 0 when they could not be counted."""
        key = f"{self.prefix}:identity:attempts:{kind}:{who}:{int(now.timestamp() // 60)}"
        return self.counter.count_blocking(key)

    def check(self, now: datetime, limits: list[tuple[str, str, int]]) -> Limited | None:
        """Count one attempt under each (kind, who, limit); Limited when any is past its limit."""
        over = False
        for kind, who, limit in limits:
            over = self.count(kind, who, now) > limit or over
        if over:
            return Limited(retry_after=max(1, 60 - int(now.timestamp()) % 60))
        return None
