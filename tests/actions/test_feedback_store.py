"""The feedback log: records, masking, pseudonyms, retention, and durability across a Redis restart."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from actions.feedback_store import FeedbackStore
from common.records import COMMENT_KEY, FeedbackRecord, pseudonym
from common.records import FEEDBACK_STREAM as STREAM
from common.redis import MemoryRedis


def record(**kw: object) -> FeedbackRecord:
    base = {"resident": "abc", "channel": "zalo", "commune": "vi-du", "kind": "rating", "rating": "hai_long",
            "topic": "dvc-login", "walkthrough": {"guide_id": "dvc-login", "step": 7}, "volunteer": True, "at": 1.0}
    base.update(kw)
    return FeedbackRecord(**base)  # type: ignore[arg-type]


def test_pseudonyms_are_stable_keyed_and_not_the_raw_id() -> None:
    assert pseudonym("zalo:123", b"k1") == pseudonym("zalo:123", b"k1")
    assert pseudonym("zalo:123", b"k1") != pseudonym("zalo:123", b"k2")
    assert pseudonym("zalo:123", b"k1") != pseudonym("zalo:124", b"k1")
    assert "zalo" not in pseudonym("zalo:123", b"k1") and len(pseudonym("zalo:123", b"k1")) == 20


def test_records_round_trip_in_memory() -> None:
    store = FeedbackStore(MemoryRedis())
    entry = store.add(record(), "Mã OTP 123456 của tôi, CCCD 001203004567")
    ((entry_id, back),) = store.records()
    assert entry_id == entry and back == record()
    assert store.comment(entry) == "Mã OTP [MÃ] của tôi, CCCD [CCCD]"


@pytest.mark.parametrize("rating", ["", "rat_hai_long", "5"])
def test_unknown_ratings_are_refused(rating: str) -> None:
    with pytest.raises(ValueError):
        FeedbackStore(MemoryRedis()).add(record(rating=rating))


def test_retention_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FeedbackStore(MemoryRedis(), retention_days=0)




def test_real_redis_stream_and_comment_expiry(real_redis: redis.Redis) -> None:
    store = FeedbackStore(real_redis, retention_days=30)
    first = store.add(record(), "chữ nhỏ quá")
    store.add(record(kind="comment", rating=""), "")
    assert [r.kind for _, r in store.records()] == ["rating", "comment"]
    assert store.comment(first) == "chữ nhỏ quá"
    ttl = real_redis.ttl(COMMENT_KEY.format(id=first))
    assert 29 * 86400 < ttl <= 30 * 86400
    # once the comment expires (retention purge), the record and its rating stay for the aggregates
    real_redis.delete(COMMENT_KEY.format(id=first))
    assert store.comment(first) is None
    assert store.records()[0][1].rating == "hai_long"
    assert store.records(since=time.time() + 60) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_acknowledged_feedback_survives_a_redis_restart(tmp_path: Path) -> None:
    port = _free_port()
    cmd = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", "",
           "--appendonly", "yes", "--appendfsync", "always"]

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=port, decode_responses=True)
        for _ in range(100):
            try:
                client.ping()
                return proc
            except redis.ConnectionError:
                time.sleep(0.05)
        proc.kill()
        raise RuntimeError("redis-server did not start")

    proc = start()
    try:
        store = FeedbackStore(redis.Redis(port=port, decode_responses=True))
        entry = store.add(record(), "cán bộ nhiệt tình")
        proc.kill()  # no clean shutdown: only the append-only file keeps the data
        proc.wait(10)
        proc = start()
        again = FeedbackStore(redis.Redis(port=port, decode_responses=True))
        assert [i for i, _ in again.records()] == [entry]
        assert again.comment(entry) == "cán bộ nhiệt tình"
        assert redis.Redis(port=port).xlen(STREAM) == 1
    finally:
        proc.kill()
        proc.wait(10)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_record_given_once_is_stored_once(backend: str, request: pytest.FixtureRequest) -> None:
    client = MemoryRedis() if backend == "memory" else request.getfixturevalue("real_redis")
    store = FeedbackStore(client)

    first = store.add(record(rating="hai_long"), once="rating:q1")
    again = store.add(record(rating="chua_hai_long"), once="rating:q1")
    other = store.add(record(rating="binh_thuong"), once="rating:q2")

    assert first == again != other
    assert [r.rating for _, r in store.records()] == ["hai_long", "binh_thuong"]
