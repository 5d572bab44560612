"""Staff accounts: argon2 hashes, the login rate limit, CSRF tokens (on an in-memory stand-in for Redis)."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.auth import (
    FAILURE_WINDOW_S,
    FAILURES_KEY,
    MAX_FAILURES,
    USER_KEY,
    Accounts,
    AuthError,
    check_username,
    csrf_ok,
    csrf_token,
)

PASSWORD = "mat-khau-thu-nghiem"


class FakeRedis:
    """The few commands Accounts uses, in a dict; remembers expiries."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.expiry: dict[str, int] = {}

    def exists(self, key: str) -> int:
        return int(key in self.data)

    def hset(self, key: str, field: str | None = None, value: str | None = None,
             mapping: dict[str, str] | None = None) -> int:
        entry = self.data.setdefault(key, {})
        entry.update(mapping or {field: value})
        return 1

    def hget(self, key: str, field: str) -> str | None:
        return self.data.get(key, {}).get(field)

    def get(self, key: str) -> str | None:
        value = self.data.get(key)
        return None if value is None else str(value)

    def incr(self, key: str) -> int:
        self.data[key] = int(self.data.get(key, 0)) + 1
        return self.data[key]

    def expire(self, key: str, seconds: int) -> bool:
        self.expiry[key] = seconds
        return True

    def delete(self, *keys: str) -> int:
        return sum(self.data.pop(k, None) is not None for k in keys)


@pytest.fixture
def accounts() -> Accounts:
    return Accounts(FakeRedis())


def test_passwords_are_stored_as_argon2_hashes(accounts: Accounts) -> None:
    assert accounts.add("CanBo", PASSWORD) == "canbo"
    stored = accounts.redis.data[USER_KEY.format(name="canbo")]["password_hash"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.login("canbo", PASSWORD).ok
    assert accounts.login(" CANBO ", PASSWORD).ok
    assert not accounts.login("canbo", PASSWORD + "x").ok
    assert not accounts.login("khong-co", PASSWORD).ok
    assert not accounts.login("", PASSWORD).ok


def test_accounts_are_not_overwritten_by_accident(accounts: Accounts) -> None:
    accounts.add("canbo", PASSWORD)
    with pytest.raises(AuthError):
        accounts.add("canbo", "mat-khau-khac-hoan-toan")
    accounts.add("canbo", "mat-khau-khac-hoan-toan", replace=True)
    assert accounts.login("canbo", "mat-khau-khac-hoan-toan").ok and not accounts.login("canbo", PASSWORD).ok


@pytest.mark.parametrize("name", ["a", "-canbo", "cán bộ", "can bo", "x" * 33, "canbo<script>"])
def test_bad_usernames_are_refused(name: str) -> None:
    with pytest.raises(AuthError):
        check_username(name)


def test_short_passwords_are_refused(accounts: Accounts) -> None:
    with pytest.raises(AuthError):
        accounts.add("canbo", "ngan")


def test_five_failures_lock_the_username_for_fifteen_minutes(accounts: Accounts) -> None:
    accounts.add("canbo", PASSWORD)
    results = [accounts.login("canbo", "sai-mat-khau") for _ in range(MAX_FAILURES)]
    assert [r.locked for r in results] == [False] * (MAX_FAILURES - 1) + [True]
    assert accounts.redis.expiry[FAILURES_KEY.format(name="canbo")] == FAILURE_WINDOW_S == 900
    locked = accounts.login("canbo", PASSWORD)  # even the right password is refused while locked
    assert not locked.ok and locked.locked
    accounts.redis.delete(FAILURES_KEY.format(name="canbo"))  # the window expired
    assert accounts.login("canbo", PASSWORD).ok


def test_a_success_resets_the_failure_count(accounts: Accounts) -> None:
    accounts.add("canbo", PASSWORD)
    for _ in range(MAX_FAILURES - 1):
        accounts.login("canbo", "sai-mat-khau")
    assert accounts.login("canbo", PASSWORD).ok
    assert not accounts.login("canbo", "sai-mat-khau").locked


def test_csrf_tokens() -> None:
    session: dict[str, Any] = {}
    token = csrf_token(session)
    assert len(token) >= 32 and csrf_token(session) == token
    assert csrf_ok(session, token)
    assert not csrf_ok(session, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not csrf_ok(session, "") and not csrf_ok(session, None) and not csrf_ok({}, token)
