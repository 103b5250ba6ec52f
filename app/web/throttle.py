"""Failed attempts counted per key in a fixed window: sign-in (email + IP) and tracking (IP,
reference). In Redis when configured (shared by every web process), else in this process.

Keys are hashed before they are stored: no email, IP address or reference sits in Redis."""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from redis.asyncio import Redis

MAX_LOCAL_KEYS = 100_000  # an attacker spraying keys cannot grow the process without bound


@dataclass(frozen=True)
class Limit:
    """At most `attempts` failures per `window_seconds` (the window starts at the first failure)."""

    name: str
    attempts: int
    window_seconds: int


SIGN_IN = Limit("sign_in", 5, 15 * 60)  # per email + IP
TRACK_PER_IP = Limit("track_ip", 20, 15 * 60)
TRACK_PER_REFERENCE = Limit("track_ref", 5, 60 * 60)  # 4-digit verification: 5 guesses in 10,000 an hour


class Throttle:
    def __init__(self, redis: Redis | None, prefix: str = "guichet:throttle") -> None:
        self._redis = redis
        self._prefix = prefix
        self._local: dict[str, tuple[int, float]] = {}  # key -> (failures, window ends at)

    def _key(self, limit: Limit, subject: str) -> str:
        return f"{self._prefix}:{limit.name}:{hashlib.sha256(subject.encode()).hexdigest()[:32]}"

    async def wait_seconds(self, limit: Limit, subject: str) -> int:
        """0: may try; else how long until the window ends."""
        key = self._key(limit, subject)
        if self._redis is not None:
            count = await self._redis.get(key)
            if count is None or int(count) < limit.attempts:
                return 0
            return max(1, int(await self._redis.ttl(key)))
        count, ends = self._local.get(key, (0, 0.0))
        now = time.monotonic()
        if ends <= now or count < limit.attempts:
            return 0
        return max(1, int(ends - now))

    async def failed(self, limit: Limit, subject: str) -> None:
        key = self._key(limit, subject)
        if self._redis is not None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, limit.window_seconds, nx=True)
                await pipe.execute()
            return
        now = time.monotonic()
        count, ends = self._local.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + limit.window_seconds
        if len(self._local) >= MAX_LOCAL_KEYS:
            self._local = {k: v for k, v in self._local.items() if v[1] > now}
        self._local[key] = (count + 1, ends)

    async def clear(self, limit: Limit, subject: str) -> None:
        key = self._key(limit, subject)
        if self._redis is not None:
            await self._redis.delete(key)
        else:
            self._local.pop(key, None)
