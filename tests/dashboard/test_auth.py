"""Staff accounts against a real Redis (db 11): argon2 hashes, server-side sessions, login limits, CSRF tokens."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from dashboard_support import PASSWORD

from dashboard.auth import (
    FAILURE_WINDOW_S,
    MAX_ADDRESS_FAILURES,
    MAX_FAILURES,
    MAX_USER_FAILURES,
    SESSION_KEY,
    SESSION_TTL_S,
    USER_ADDRESS_FAILURES_KEY,
    USER_KEY,
    Accounts,
    AuthError,
    Limit,
    LoginLimits,
    address_key,
    check_username,
    csrf_ok,
    csrf_token,
)

pytestmark = pytest.mark.integration

HERE, THERE = "192.0.2.10", "198.51.100.20"  # documentation addresses: the staff member's and an attacker's


@pytest.fixture
def accounts(dashboard_redis: redis.Redis) -> Accounts:
    return Accounts(dashboard_redis)


def test_passwords_are_stored_as_argon2_hashes(accounts: Accounts, dashboard_redis: redis.Redis) -> None:
    assert accounts.add("CanBo", PASSWORD) == "canbo"
    stored = str(dashboard_redis.hget(USER_KEY.format(name="canbo"), "password_hash"))
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.login("canbo", PASSWORD, HERE) == accounts.login(" CANBO ", PASSWORD, HERE)
    assert accounts.login("canbo", PASSWORD, HERE).user == "canbo"
    assert not accounts.login("canbo", PASSWORD + "x", HERE).ok
    assert not accounts.login("khong-co", PASSWORD, HERE).ok
    assert not accounts.login("", PASSWORD, HERE).ok


def test_accounts_are_not_overwritten_by_accident(accounts: Accounts) -> None:
    accounts.add("canbo", PASSWORD)
    with pytest.raises(AuthError):
        accounts.add("canbo", "mat-khau-khac-hoan-toan")
    accounts.add("canbo", "mat-khau-khac-hoan-toan", replace=True)
    assert accounts.login("canbo", "mat-khau-khac-hoan-toan", HERE).ok
    assert not accounts.login("canbo", PASSWORD, HERE).ok


@pytest.mark.parametrize("name", ["a", "-canbo", "cán bộ", "can bo", "x" * 33, "canbo<script>"])
def test_bad_usernames_are_refused(name: str) -> None:
    with pytest.raises(AuthError):
        check_username(name)


def test_short_passwords_are_refused(accounts: Accounts) -> None:
    with pytest.raises(AuthError):
        accounts.add("canbo", "ngan")


@pytest.mark.parametrize(("raw", "key"), [
    ("192.0.2.10", "192.0.2.10"), (" 2001:DB8::1 ", "2001:db8::1"), ("::ffff:192.0.2.10", "192.0.2.10"),
    ("testclient", "testclient"), ("a b@c", "a_b_c"), ("", "unknown"),
])
def test_addresses_are_normalised_before_counting(raw: str, key: str) -> None:
    assert address_key(raw) == key


# --- sessions -------------------------------------------------------------------------------------------------------


def test_sessions_live_in_redis_for_eight_hours_and_end_at_logout(accounts: Accounts, dashboard_redis: redis.Redis) -> None:
    accounts.add("canbo", PASSWORD)
    sid = accounts.start_session("canbo")
    assert accounts.session_user(sid) == "canbo"
    assert sid not in str(dashboard_redis.keys("*"))  # Redis keeps a digest: a copy of it is no cookie
    ttl = max(dashboard_redis.ttl(k) for k in dashboard_redis.keys(SESSION_KEY.format(digest="*")))
    assert SESSION_TTL_S - 60 < ttl <= SESSION_TTL_S == 8 * 3600
    other = accounts.start_session("canbo")
    accounts.end_session(sid)
    assert accounts.session_user(sid) is None and accounts.session_user(other) == "canbo"
    for forged in (None, "", "x" * 43, sid[:-1], 42):
        assert accounts.session_user(forged) is None
        accounts.end_session(forged)  # logging out a forged session is harmless


def test_a_password_reset_or_removal_ends_every_session_of_that_user(accounts: Accounts) -> None:
    accounts.add("canbo", PASSWORD)
    accounts.add("ketoan", PASSWORD)
    office, phone, colleague = (accounts.start_session(u) for u in ("canbo", "canbo", "ketoan"))
    accounts.add("canbo", "mat-khau-moi-hoan-toan", replace=True)
    assert accounts.session_user(office) is None and accounts.session_user(phone) is None
    assert accounts.session_user(colleague) == "ketoan"
    later = accounts.start_session("canbo")
    assert accounts.remove("canbo")
    assert accounts.session_user(later) is None and accounts.session_user(colleague) == "ketoan"


# --- login limits ---------------------------------------------------------------------------------------------------


def test_five_failures_lock_the_username_from_that_address_only(accounts: Accounts, dashboard_redis: redis.Redis) -> None:
    accounts.add("canbo", PASSWORD)
    results = [accounts.login("canbo", "sai-mat-khau", THERE) for _ in range(MAX_FAILURES)]
    assert [r.limit for r in results] == [None] * (MAX_FAILURES - 1) + [Limit.USER_AT_ADDRESS]
    key = USER_ADDRESS_FAILURES_KEY.format(name="canbo", address=THERE)
    assert FAILURE_WINDOW_S - 60 < dashboard_redis.ttl(key) <= FAILURE_WINDOW_S == 900
    locked = accounts.login("canbo", PASSWORD, THERE)  # even the right password is refused from there
    assert not locked.ok and locked.limit is Limit.USER_AT_ADDRESS
    assert accounts.login("canbo", PASSWORD, HERE).ok  # the owner, elsewhere, still gets in
    dashboard_redis.delete(key)  # the window expired
    assert accounts.login("canbo", PASSWORD, THERE).ok


def test_a_success_resets_only_its_own_failure_count(accounts: Accounts) -> None:
    accounts.add("canbo", PASSWORD)
    for _ in range(MAX_FAILURES - 1):
        accounts.login("canbo", "sai-mat-khau", HERE)
    assert accounts.login("canbo", PASSWORD, HERE).ok
    assert not accounts.login("canbo", "sai-mat-khau", HERE).locked


def test_one_address_is_throttled_whatever_the_usernames(dashboard_redis: redis.Redis) -> None:
    accounts = Accounts(dashboard_redis, LoginLimits(per_address=4))
    accounts.add("canbo", PASSWORD)
    results = [accounts.login(f"nguoi-{i}", "sai-mat-khau", THERE) for i in range(6)]
    assert [r.limit for r in results] == [None] * 3 + [Limit.ADDRESS] * 3
    assert accounts.login("canbo", PASSWORD, THERE).limit is Limit.ADDRESS
    assert accounts.login("canbo", PASSWORD, HERE).ok
    # names that cannot be accounts count too, and cannot reach another pair's counter
    assert Accounts(dashboard_redis).login(f"canbo@{HERE}", "sai", "203.0.113.1").limit is None
    assert dashboard_redis.get(USER_ADDRESS_FAILURES_KEY.format(name="canbo", address=HERE)) is None


def test_the_per_username_ceiling_is_much_higher_and_spans_addresses(dashboard_redis: redis.Redis) -> None:
    assert (MAX_FAILURES, MAX_ADDRESS_FAILURES, MAX_USER_FAILURES) == (5, 20, 50)
    accounts = Accounts(dashboard_redis, LoginLimits(per_user_address=2, per_user=5))
    accounts.add("canbo", PASSWORD)
    limits = [accounts.login("canbo", "sai-mat-khau", f"203.0.113.{i // 2}").limit for i in range(5)]
    assert limits == [None, Limit.USER_AT_ADDRESS, None, Limit.USER_AT_ADDRESS, Limit.USER]
    assert accounts.login("canbo", PASSWORD, HERE).limit is Limit.USER  # a distributed attack locks everyone out
    accounts.add("canbo", PASSWORD, replace=True)  # …until the administrator resets the password
    assert accounts.login("canbo", PASSWORD, HERE).ok and accounts.login("canbo", PASSWORD, "203.0.113.0").ok


def _seconds(action: Any) -> float:
    """The shortest of three runs of an action: the least disturbed by other work on the machine."""
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        action()
        runs.append(time.perf_counter() - start)
    return min(runs)


@pytest.mark.parametrize("limits", [LoginLimits(per_user_address=1), LoginLimits(per_user=1),
                                    LoginLimits(per_address=1)], ids=["user-at-address", "user", "address"])
def test_a_refused_attempt_costs_one_argon2_verification(dashboard_redis: redis.Redis, limits: LoginLimits) -> None:
    accounts = Accounts(dashboard_redis, limits)
    accounts.add("canbo", PASSWORD)
    assert accounts.login("canbo", "sai-mat-khau", THERE).locked
    stored = str(dashboard_redis.hget(USER_KEY.format(name="canbo"), "password_hash"))

    def one_verify() -> None:
        with pytest.raises(VerifyMismatchError):
            PasswordHasher().verify(stored, "sai-mat-khau")

    verify = _seconds(one_verify)
    refused = _seconds(lambda: accounts.login("canbo", "sai-mat-khau", THERE))
    assert refused >= 0.5 * verify, (refused, verify)  # a refusal without argon2 takes about 1% of it


def test_csrf_tokens() -> None:
    session: dict[str, Any] = {}
    token = csrf_token(session)
    assert len(token) >= 32 and csrf_token(session) == token
    assert csrf_ok(session, token)
    assert not csrf_ok(session, token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not csrf_ok(session, "") and not csrf_ok(session, None) and not csrf_ok({}, token)
