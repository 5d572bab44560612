"""common/redis.py: Redis URLs, Sentinel ones included (the failover itself: tests/integration/test_sentinel.py)."""

from __future__ import annotations

import pytest

from common.redis import SentinelTarget, parse_sentinel_url, safe_url, with_default_db
from common.settings import _redis_url


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_database() -> None:
    target = parse_sentinel_url("redis+sentinel://:s%40cret@sentinel-0:26380,sentinel-1,10.0.0.7:26379/tro-ly/2")
    assert target == SentinelTarget(
        sentinels=(("sentinel-0", 26380), ("sentinel-1", 26379), ("10.0.0.7", 26379)),
        service="tro-ly", db=2, password="s@cret")


def test_a_sentinel_url_without_password_or_database() -> None:
    target = parse_sentinel_url("redis+sentinel://127.0.0.1:26379/mymaster?sentinel_password=abc")
    assert (target.db, target.password, target.sentinel_password) == (0, None, "abc")


@pytest.mark.parametrize("url", [
    "redis+sentinel://127.0.0.1:26379",  # no service
    "redis+sentinel:///tro-ly/0",  # no sentinel
    "redis+sentinel://127.0.0.1:26379/tro-ly/zero",  # not a database number
    "redis+sentinel://127.0.0.1:26379/a/0/extra",
    "redis://127.0.0.1:6379/0",
])
def test_a_malformed_sentinel_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_sentinel_url(url)


@pytest.mark.parametrize(("url", "expected"), [
    ("redis+sentinel://:pw@s0:26379,s1:26379/tro-ly", "redis+sentinel://:pw@s0:26379,s1:26379/tro-ly/1"),
    ("redis+sentinel://s0:26379/tro-ly/", "redis+sentinel://s0:26379/tro-ly/1"),
    ("redis+sentinel://s0:26379/tro-ly/4", "redis+sentinel://s0:26379/tro-ly/4"),
    ("redis+sentinel://s0/tro-ly?sentinel_password=x", "redis+sentinel://s0/tro-ly/1?sentinel_password=x"),
    ("redis://:pw@redis:6379", "redis://:pw@redis:6379/1"),
    ("redis://redis:6379/3", "redis://redis:6379/3"),
])
def test_with_default_db(url: str, expected: str) -> None:
    assert with_default_db(url, 1) == expected


def test_settings_accept_a_sentinel_url_and_logs_never_show_its_password() -> None:
    url = "redis+sentinel://:hunter2@s0:26379,s1:26379/tro-ly/0"
    assert _redis_url(url) == url
    assert "hunter2" not in safe_url(url)
    with_query = url + "?sentinel_password=s3cret&x=1"
    assert safe_url(with_query) == "redis+sentinel://s0:26379,s1:26379/tro-ly/0?sentinel_password=***&x=1"
