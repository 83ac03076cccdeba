"""Login throttling in Redis: too many failures lock an e-mail (and an address) briefly."""

from __future__ import annotations

import hashlib

from redis.asyncio import Redis

__all__ = ["LoginThrottle"]


class LoginThrottle:
    """Counts failures per e-mail and per client address in fixed windows."""

    def __init__(
        self,
        redis: Redis,
        *,
        max_failures: int = 5,
        ip_max_failures: int = 100,
        window_s: int = 900,
    ) -> None:
        self.redis = redis
        self.max_failures = max_failures
        self.ip_max_failures = ip_max_failures
        self.window_s = window_s

    @staticmethod
    def _key(kind: str, value: str) -> str:
        digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
        return f"scalemark:login:{kind}:{digest}"

    async def retry_after(self, email: str, ip: str | None) -> int:
        """Seconds until another attempt is allowed (0 when allowed now)."""
        checks = [(self._key("email", email), self.max_failures)]
        if ip:
            checks.append((self._key("ip", ip), self.ip_max_failures))
        wait = 0
        for key, limit in checks:
            count = await self.redis.get(key)
            if count is not None and int(count) >= limit:
                wait = max(wait, int(await self.redis.ttl(key)) or self.window_s)
        return wait

    async def failed(self, email: str, ip: str | None) -> None:
        """Count a failed attempt."""
        keys = [self._key("email", email)] + ([self._key("ip", ip)] if ip else [])
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, self.window_s, nx=True)
            await pipe.execute()

    async def succeeded(self, email: str) -> None:
        """A successful sign-in clears the e-mail's counter."""
        await self.redis.delete(self._key("email", email))
