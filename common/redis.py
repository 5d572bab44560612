"""The one way every process builds its Redis client, and the in-memory stand-in the terminal demo runs on.

Clients decode responses to str, reconnect and retry with backoff when Redis restarts or drops a connection, and time
out instead of hanging. A `redis+sentinel://` URL gives a client of the master the sentinels name, which follows a
failover (tests/integration/test_sentinel.py). Only the terminal demo (`make run`) may run without Redis: everywhere else an unset REDIS_URL
is a settings error, never a silent switch to memory.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

RETRIES = 12
# Redis behind Sentinel (a province's Redis with failover): the sentinels, comma-separated, then the monitored
# service's name and the database, e.g. redis+sentinel://:PASSWORD@sentinel-0:26379,sentinel-1:26379/tro-ly/0
SENTINEL_SCHEME = "redis+sentinel://"
SENTINEL_PORT = 26379


@dataclass(frozen=True)
class SentinelTarget:
    """Where a `redis+sentinel://` URL points: ask these sentinels for the master of `service`."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    password: str | None = None  # the Redis servers' password (the URL's); the sentinels' own, if any, by query
    sentinel_password: str | None = None


def parse_sentinel_url(url: str) -> SentinelTarget:
    """`redis+sentinel://[:password@]host[:port][,host[:port]…]/service[/db][?sentinel_password=…]`."""
    if not url.startswith(SENTINEL_SCHEME):
        raise ValueError(f"not a {SENTINEL_SCHEME} URL")
    parts = urlsplit("redis://" + url[len(SENTINEL_SCHEME):])
    credentials, _, hosts = parts.netloc.rpartition("@")
    password = unquote(credentials.split(":", 1)[1]) if ":" in credentials else (unquote(credentials) or None)
    sentinels = []
    for item in filter(None, hosts.split(",")):
        host, _, port = item.rpartition(":") if item.rsplit(":", 1)[-1].isdigit() else (item, "", "")
        sentinels.append((host or item, int(port) if port else SENTINEL_PORT))
    path = [p for p in parts.path.split("/") if p]
    if not sentinels or not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError("expected redis+sentinel://[:password@]host:port[,host:port…]/service[/db]")
    sentinel_password = parse_qs(parts.query).get("sentinel_password", [""])[0]
    return SentinelTarget(tuple(sentinels), path[0], int(path[1]) if len(path) == 2 else 0, password or None,
                          sentinel_password or None)


def with_default_db(url: str, db: int) -> str:
    """The URL with database `db` when it names none (Rasa's lock store keeps its own database)."""
    if url.startswith(SENTINEL_SCHEME):
        base, sep, query = url.partition("?")
        if len([p for p in urlsplit("redis://" + base[len(SENTINEL_SCHEME):]).path.split("/") if p]) == 1:
            base = f"{base.rstrip('/')}/{db}"
        return base + sep + query
    parts = urlsplit(url)
    return parts._replace(path=f"/{db}").geturl() if (parts.path or "/").strip("/") == "" else url


def safe_url(url: str) -> str:
    """A Redis URL fit for a log line or an error message: the passwords (before "@", and the sentinels' in the
    query) are dropped."""
    scheme, _, rest = url.partition("://")
    if not rest:
        return url
    rest = re.sub(r"([?&]sentinel_password=)[^&]*", r"\1***", rest.rsplit("@", 1)[-1])
    return f"{scheme}://{rest}"


def sentinels(sentinel_class: Any, target: SentinelTarget, timeout: float = 2.0) -> Any:
    """The sentinels a `redis+sentinel://` URL names, as a redis-py `Sentinel` (sync or asyncio class)."""
    sentinel_kwargs: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    return sentinel_class(list(target.sentinels), sentinel_kwargs=sentinel_kwargs)


def _sentinel_master(sentinel_class: Any, url: str, options: dict[str, Any]) -> Any:
    """A client for the current master of a Sentinel service; on failover its pool asks the sentinels again."""
    target = parse_sentinel_url(url)
    return sentinels(sentinel_class, target).master_for(target.service, db=target.db, password=target.password,
                                                        **options)


def connect(url: str, *, socket_timeout: float = 10.0) -> Any:
    """A synchronous client (action server, dashboard, Rasa's tracker and lock stores, tools)."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from redis.retry import Retry

    options: dict[str, Any] = {
        "decode_responses": True, "socket_timeout": socket_timeout, "socket_connect_timeout": 5,
        "health_check_interval": 10, "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError]}
    if url.startswith(SENTINEL_SCHEME):
        from redis.sentinel import Sentinel

        return _sentinel_master(Sentinel, url, options)
    return redis.Redis.from_url(url, **options)


def connect_async(url: str, *, max_connections: int | None = None, socket_timeout: float | None = 10.0) -> Any:
    """An asyncio client (gateways, Rasa's stores). With `max_connections`, a bounded pool that waits for a free
    connection instead of failing under a burst of residents (behind Sentinel the pool grows instead)."""
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    options: dict[str, Any] = {
        "decode_responses": True, "socket_timeout": socket_timeout, "health_check_interval": 10,
        "retry": Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError]}
    if url.startswith(SENTINEL_SCHEME):
        from redis.asyncio.sentinel import Sentinel as AsyncSentinel

        return _sentinel_master(AsyncSentinel, url, options)
    if max_connections is None:
        return aioredis.from_url(url, **options)
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=20, **options)
    return aioredis.Redis(connection_pool=pool)


# Lua scripts the stores run, each with its Python twin for the in-memory stand-in (tests run both against the
# same assertions, on real Redis and on memory).
LUA_TWINS: dict[str, Callable[[MemoryRedis, list[str], list[str]], Any]] = {}


def lua(script: str) -> Callable[[Callable[[MemoryRedis, list[str], list[str]], Any]], Any]:
    """Register the Python twin of a Lua script for MemoryRedis.eval."""

    def register(twin: Callable[[MemoryRedis, list[str], list[str]], Any]) -> Any:
        LUA_TWINS[script] = twin
        return twin

    return register


class MemoryRedis:
    """The commands the action server's stores use, kept in this process: the terminal demo's Redis."""

    def __init__(self) -> None:
        self.streams: dict[str, list[tuple[str, dict[str, str]]]] = {}
        self.values: dict[str, tuple[str, float | None]] = {}
        self._last = (0, 0)

    def xadd(self, name: str, fields: dict[str, str], maxlen: int | None = None, approximate: bool = True) -> str:
        ms = max(int(time.time() * 1000), self._last[0])
        seq = self._last[1] + 1 if ms == self._last[0] else 0
        self._last = (ms, seq)
        entry_id = f"{ms}-{seq}"
        entries = self.streams.setdefault(name, [])
        entries.append((entry_id, {str(k): str(v) for k, v in fields.items()}))
        if maxlen is not None and len(entries) > maxlen:
            del entries[:len(entries) - maxlen]
        return entry_id

    def xrange(self, name: str, min: str = "-", max: str = "+", count: int | None = None) -> list[Any]:
        def key(entry_id: str) -> tuple[int, int]:
            ms, _, seq = entry_id.partition("-")
            return int(ms), int(seq or 0)

        low = (-1, -1) if min == "-" else key(min)
        high = (2**63, 2**63) if max == "+" else (key(max) if "-" in max else (int(max), 2**63))
        found = [(i, dict(f)) for i, f in self.streams.get(name, []) if low <= key(i) <= high]
        return found[:count] if count else found

    def xlen(self, name: str) -> int:
        return len(self.streams.get(name, []))

    def set(self, name: str, value: str, ex: int | None = None, nx: bool = False) -> bool | None:
        if nx and self.get(name) is not None:
            return None
        self.values[name] = (str(value), time.time() + ex if ex else None)
        return True

    def get(self, name: str) -> str | None:
        value, expires = self.values.get(name, ("", None))
        if name not in self.values or (expires is not None and expires <= time.time()):
            self.values.pop(name, None)
            return None
        return value

    def ttl(self, name: str) -> int:
        if self.get(name) is None:
            return -2
        expires = self.values[name][1]
        return -1 if expires is None else int(expires - time.time())

    def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> Any:
        twin = LUA_TWINS.get(script)
        if twin is None:
            raise NotImplementedError("MemoryRedis runs only the scripts registered with common.redis.lua")
        items = [str(x) for x in keys_and_args]
        return twin(self, items[:numkeys], items[numkeys:])

    def ping(self) -> bool:
        return True
