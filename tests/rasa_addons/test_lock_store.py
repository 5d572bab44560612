"""ResidentLockStore: Rasa's in-memory store for `memory://`, an atomic Redis ticket lock for `redis://`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
from addons_support import PROJECT_DIR, REDIS_TEST_URL
from rasa.core.lock_store import InMemoryLockStore, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from rasa_addons.lock_store import AtomicRedisLockStore, ResidentLockStore

TYPE = "rasa_addons.lock_store.ResidentLockStore"
RedisLockStore = AtomicRedisLockStore  # what a redis:// URL gives


def connection(store: AtomicRedisLockStore) -> dict[str, Any]:
    return store.red.connection_pool.connection_kwargs


@pytest.mark.parametrize("url", ["memory://", "memory", None])
def test_memory_url_gives_the_in_memory_store(url: str | None) -> None:
    assert isinstance(ResidentLockStore(endpoint_config=EndpointConfig(url=url, type=TYPE)), InMemoryLockStore)


def test_no_endpoint_config_gives_the_in_memory_store() -> None:
    assert isinstance(ResidentLockStore(), InMemoryLockStore)


def test_redis_url_gives_a_redis_store_on_that_database() -> None:
    store = ResidentLockStore(endpoint_config=EndpointConfig(url=REDIS_TEST_URL, type=TYPE))

    assert isinstance(store, RedisLockStore)
    kwargs = connection(store)
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.1", 6379, 14)
    assert store.key_prefix == "lock:lock:"
    assert store.url == "redis://127.0.0.1:6379/14"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://cache.internal:6380/3", {"host": "cache.internal", "port": 6380, "db": 3}),
        ("redis://127.0.0.1:6379", {"host": "127.0.0.1", "port": 6379, "db": 1}),
        ("redis://127.0.0.1:6379/", {"host": "127.0.0.1", "port": 6379, "db": 1}),
        ("redis://redis/0", {"host": "redis", "port": 6379, "db": 0}),
        ("redis://:p4ss@127.0.0.1:6379/2", {"password": "p4ss", "username": None, "db": 2}),
        ("redis://bot:p4ss@127.0.0.1:6379/2", {"password": "p4ss", "username": "bot"}),
    ],
)
def test_redis_url_parts_reach_the_client(url: str, expected: dict[str, Any]) -> None:
    kwargs = connection(ResidentLockStore(endpoint_config=EndpointConfig(url=url, type=TYPE)))

    assert {key: kwargs.get(key) for key in expected} == expected


def test_rediss_url_turns_on_tls() -> None:
    store = ResidentLockStore(endpoint_config=EndpointConfig(url="rediss://cache.internal:6380/2", type=TYPE))

    assert "SSL" in type(store.red.connection_pool.connection_class()).__name__


@pytest.mark.parametrize(("url", "expected"), [("memory://", InMemoryLockStore), (REDIS_TEST_URL, RedisLockStore)])
def test_rasa_builds_it_from_an_endpoint_config(url: str, expected: type) -> None:
    assert isinstance(LockStore.create(EndpointConfig(url=url, type=TYPE)), expected)


def test_endpoints_yml_selects_this_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("TRACKER_STORE_URL", REDIS_TEST_URL)
    monkeypatch.setenv("LOCK_STORE_URL", REDIS_TEST_URL)

    store = LockStore.create(read_endpoint_config(str(PROJECT_DIR / "endpoints.yml"), "lock_store"))

    assert isinstance(store, RedisLockStore)
    assert connection(store)["db"] == 14


def redis_store() -> AtomicRedisLockStore:
    store = ResidentLockStore(endpoint_config=EndpointConfig(url=REDIS_TEST_URL, type=TYPE))
    assert isinstance(store, AtomicRedisLockStore)
    return store


async def test_redis_lock_is_shared_through_database_14(redis_db: Any) -> None:
    first, second = redis_store(), redis_store()

    async with first.lock("resident-1", lock_lifetime=5, wait_time_in_seconds=0.01):
        assert redis_db.exists("lock:lock:resident-1")
        # a second Rasa replica sees the conversation as locked
        assert second.get_or_create_lock("resident-1").is_locked(ticket_number=2)
        assert not second.get_or_create_lock("resident-1").is_locked(ticket_number=1)

    assert not redis_db.exists("lock:lock:resident-1")


async def test_one_turn_at_a_time_across_stores(redis_db: Any) -> None:
    stores = [redis_store() for _ in range(4)]
    inside: list[int] = []
    overlaps = 0

    async def turn(store: AtomicRedisLockStore, n: int) -> None:
        nonlocal overlaps
        async with store.lock("resident-1", lock_lifetime=10, wait_time_in_seconds=0.05):
            inside.append(n)
            overlaps += len(inside) > 1
            await asyncio.sleep(0.005)
            inside.remove(n)

    await asyncio.gather(*(turn(stores[n % 4], n) for n in range(40)))

    assert overlaps == 0
    assert not redis_db.keys("lock:lock:resident-1")


async def test_tickets_are_served_in_the_order_they_were_issued(redis_db: Any) -> None:
    store, other = redis_store(), redis_store()
    served: list[int] = []

    async def turn(s: AtomicRedisLockStore, n: int) -> None:
        async with s.lock("resident-1", lock_lifetime=10, wait_time_in_seconds=0.02):
            served.append(n)
            await asyncio.sleep(0.01)

    tasks = []
    for n in range(8):
        tasks.append(asyncio.create_task(turn(store if n % 2 else other, n)))
        # each takes its ticket before the next one asks (waiting on the counter, not on the clock)
        while int(redis_db.get("lock:lock:resident-1:seq") or 0) < n + 1:
            await asyncio.sleep(0.001)
    await asyncio.gather(*tasks)

    assert served == list(range(8))


async def test_an_expired_holder_does_not_block_the_conversation(redis_db: Any) -> None:
    store = redis_store()
    # a replica took a ticket and was killed: its ticket lives 0.3 s
    store.issue_ticket("resident-1", lock_lifetime=0.3)
    started = time.monotonic()

    async with store.lock("resident-1", lock_lifetime=5, wait_time_in_seconds=0.05):
        waited = time.monotonic() - started

    assert 0.2 < waited < 3


async def test_a_ticket_that_expires_while_waiting_raises_lock_error(redis_db: Any) -> None:
    store = redis_store()
    async with store.lock("resident-1", lock_lifetime=5, wait_time_in_seconds=0.05):
        with pytest.raises(LockError):
            async with store.lock("resident-1", lock_lifetime=0.2, wait_time_in_seconds=0.05):
                pass


async def test_other_conversations_are_not_blocked(redis_db: Any) -> None:
    store = redis_store()
    async with store.lock("resident-1", lock_lifetime=5):
        async with asyncio.timeout(1) if hasattr(asyncio, "timeout") else _nothing():
            async with store.lock("resident-2", lock_lifetime=5):
                pass


class _nothing:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *_: Any) -> None:
        return None


WORKER = textwrap.dedent("""
    import asyncio, sys
    import redis
    from rasa.utils.endpoints import EndpointConfig
    from rasa_addons.lock_store import ResidentLockStore

    async def main(url, turns):
        store = ResidentLockStore(endpoint_config=EndpointConfig(url=url, type="x"))
        plain = redis.Redis.from_url(url)
        for _ in range(turns):
            async with store.lock("resident-1", lock_lifetime=20, wait_time_in_seconds=0.02):
                value = int(plain.get("counter") or 0)   # read-modify-write: only safe under the lock
                await asyncio.sleep(0.002)
                plain.set("counter", value + 1)

    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
""")


def test_replicas_in_separate_processes_never_lose_an_update(redis_db: Any) -> None:
    # what two Rasa replicas do: separate processes, one Redis. Rasa's own RedisLockStore loses updates here.
    processes, turns = 3, 25
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, REDIS_TEST_URL, str(turns)], cwd=PROJECT_DIR)
               for _ in range(processes)]
    assert [w.wait(timeout=120) for w in workers] == [0] * processes

    assert int(redis_db.get("counter")) == processes * turns


async def test_in_memory_lock_round_trip() -> None:
    store = ResidentLockStore(endpoint_config=EndpointConfig(url="memory://", type=TYPE))

    async with store.lock("resident-1", lock_lifetime=5, wait_time_in_seconds=0.01):
        assert store.get_lock("resident-1") is not None

    assert store.get_lock("resident-1") is None


async def test_a_long_turn_keeps_its_ticket_and_a_dead_one_frees_the_lock_soon(
    redis_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rasa_addons.lock_store as lock_store

    monkeypatch.setattr(lock_store, "TICKET_TTL_S", 0.3)
    store = redis_store()
    waited: list[float] = []

    async def second() -> None:
        started = time.monotonic()
        async with store.lock("resident-1", lock_lifetime=60, wait_time_in_seconds=0.02):
            waited.append(time.monotonic() - started)

    async with store.lock("resident-1", lock_lifetime=60, wait_time_in_seconds=0.02):
        task = asyncio.create_task(second())
        await asyncio.sleep(1.0)  # more than three ticket lifetimes: both tickets are renewed meanwhile
        assert not task.done()
    await task
    assert waited and waited[0] >= 1.0

    # a replica killed while holding a ticket (never renewed): the next turn waits one ticket lifetime, not 60 s
    store.issue_ticket("resident-1", lock_lifetime=0.3)
    started = time.monotonic()
    async with store.lock("resident-1", lock_lifetime=60, wait_time_in_seconds=0.02):
        assert time.monotonic() - started < 2
