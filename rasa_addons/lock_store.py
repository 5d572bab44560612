"""Lock store chosen by URL: Redis for `redis://…` (several Rasa replicas), in-process for `memory://`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig


class ResidentLockStore(LockStore):
    """Factory: `ResidentLockStore(endpoint_config=…)` returns a Redis or an in-memory lock store."""

    def __new__(cls, endpoint_config: EndpointConfig | None = None, **_: Any) -> LockStore:  # type: ignore[misc]
        url = (endpoint_config.url if endpoint_config else None) or "memory://"
        if url.startswith("memory"):
            return InMemoryLockStore()
        parsed = urlparse(url)
        return RedisLockStore(
            host=parsed.hostname or "localhost",
            port=parsed.port or 6379,
            db=int((parsed.path or "/1").lstrip("/") or 1),
            username=parsed.username or None,
            password=parsed.password or None,
            use_ssl=parsed.scheme == "rediss",
            key_prefix="lock",
        )
