"""Which Redis database on 127.0.0.1:6379 each test group (and benchmark) owns, and the one way tests get a real one.

Each group flushes only its own database, so groups never erase each other's data; `tests/test_redis_dbs.py` checks
no database number appears outside the files of its owner. A missing Redis fails the test (tools/test.sh starts one):
a skipped Redis test would pass CI without testing anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

HOST = "127.0.0.1:6379"
# database → (what uses it, the files that may name it)
DATABASES: dict[int, tuple[str, tuple[str, ...]]] = {
    15: ("integration: the real stack", ("tests/integration/conftest.py",)),
    14: ("Rasa add-ons: tracker and lock stores", ("tests/rasa_addons/",)),
    13: ("make bench", ("tools/bench.py",)),
    12: ("action server stores: feedback, analytics", ("tests/actions/",)),
    11: ("dashboard", ("tests/dashboard/",)),
    10: ("gateways", ("tests/bot/",)),
    9: ("the web widget on the real stack", ("tests/integration/test_web_widget_rasa.py",)),
    8: ("make bench-gateways", ("tools/bench_gateways.py",)),
}


def url(db: int) -> str:
    """The test URL of one database (must be in DATABASES)."""
    if db not in DATABASES:
        raise KeyError(f"Redis database {db} belongs to no test group: add it to tests/auxil/redis_db.py")
    return f"redis://{HOST}/{db}"


def fresh_redis(db: int) -> Iterator[Any]:
    """A real Redis client on one database, empty at the start and the end (use as a fixture body)."""
    import redis

    client = redis.Redis.from_url(url(db), decode_responses=True)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"these tests need Redis on {HOST} (tools/test.sh starts one)")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


async def fresh_aredis(db: int) -> AsyncIterator[Any]:
    """The asyncio form of fresh_redis."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url(db), decode_responses=True)
    try:
        await client.ping()
    except Exception:  # noqa: BLE001
        pytest.fail(f"these tests need Redis on {HOST} (tools/test.sh starts one)")
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()
