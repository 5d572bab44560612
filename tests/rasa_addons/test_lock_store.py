"""ResidentLockStore picks Rasa's in-memory or Redis lock store from the URL."""

from __future__ import annotations

from typing import Any

import pytest
from addons_support import PROJECT_DIR, REDIS_TEST_URL
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from rasa_addons.lock_store import ResidentLockStore

TYPE = "rasa_addons.lock_store.ResidentLockStore"


def connection(store: RedisLockStore) -> dict[str, Any]:
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


async def test_redis_lock_is_shared_through_database_14(redis_db: Any) -> None:
    first = ResidentLockStore(endpoint_config=EndpointConfig(url=REDIS_TEST_URL, type=TYPE))
    second = ResidentLockStore(endpoint_config=EndpointConfig(url=REDIS_TEST_URL, type=TYPE))

    async with first.lock("resident-1", lock_lifetime=5, wait_time_in_seconds=0.01):
        assert redis_db.exists("lock:lock:resident-1")
        # a second Rasa replica sees the conversation as locked
        assert second.get_or_create_lock("resident-1").is_locked(ticket_number=1)

    assert not redis_db.exists("lock:lock:resident-1")


async def test_in_memory_lock_round_trip() -> None:
    store = ResidentLockStore(endpoint_config=EndpointConfig(url="memory://", type=TYPE))

    async with store.lock("resident-1", lock_lifetime=5, wait_time_in_seconds=0.01):
        assert store.get_lock("resident-1") is not None

    assert store.get_lock("resident-1") is None
