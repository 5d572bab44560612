"""Staff accounts, password checks with a login rate limit, and CSRF tokens.

Keys:
  dashboard:user:<username>            hash {password_hash (argon2id), created_at}
  dashboard:login-failures:<username>  failed logins, expiring 15 minutes after the first one
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

USER_KEY = "dashboard:user:{name}"
FAILURES_KEY = "dashboard:login-failures:{name}"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
MIN_PASSWORD_CHARS = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when the username does not exist, so both cases take as long."""
    return _hasher.hash(secrets.token_hex(16))


class AuthError(ValueError):
    """A username or password that cannot be accepted (message is for the person creating the account)."""


def check_username(username: str) -> str:
    """The username, lowercased, if it is 2–32 of a–z, 0–9, '.', '_', '-'; AuthError otherwise."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise AuthError("username must be 2–32 characters: a–z, 0–9, '.', '_' or '-', starting with a letter or digit")
    return name


def hash_password(password: str) -> str:
    """An argon2id hash of a password of at least MIN_PASSWORD_CHARS characters."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AuthError(f"password must be at least {MIN_PASSWORD_CHARS} characters")
    return _hasher.hash(password)


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a login attempt: ok, or refused because of a wrong password or too many failures."""

    ok: bool
    locked: bool = False


class Accounts:
    """Staff accounts kept in Redis (a redis.Redis with decode_responses=True)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    def add(self, username: str, password: str, replace: bool = False) -> str:
        """Create (or with replace=True, reset the password of) an account; return the normalised username."""
        name = check_username(username)
        key = USER_KEY.format(name=name)
        if self.redis.exists(key) and not replace:
            raise AuthError(f"user {name!r} already exists")
        self.redis.hset(key, mapping={"password_hash": hash_password(password), "created_at": f"{time.time():.0f}"})
        self.redis.delete(FAILURES_KEY.format(name=name))
        return name

    def exists(self, username: str) -> bool:
        """True when the account exists (sessions of deleted accounts stop working)."""
        return bool(self.redis.exists(USER_KEY.format(name=username)))

    def remove(self, username: str) -> bool:
        """Delete an account; True when there was one."""
        return bool(self.redis.delete(USER_KEY.format(name=check_username(username))))

    def locked(self, username: str) -> bool:
        """True after MAX_FAILURES failed logins within the window."""
        count = self.redis.get(FAILURES_KEY.format(name=username))
        return int(count or 0) >= MAX_FAILURES

    def _failed(self, name: str) -> None:
        key = FAILURES_KEY.format(name=name)
        if self.redis.incr(key) == 1:
            self.redis.expire(key, FAILURE_WINDOW_S)

    def login(self, username: str, password: str) -> LoginResult:
        """Check a password; count failures per username and refuse everything once the limit is reached."""
        name = username.strip().lower()[:64]
        if not name:
            return LoginResult(False)
        if self.locked(name):
            return LoginResult(False, locked=True)
        stored = self.redis.hget(USER_KEY.format(name=name), "password_hash") if USERNAME.match(name) else None
        try:
            _hasher.verify(stored or _dummy_hash(), password)
            ok = stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self._failed(name)
            return LoginResult(False, locked=self.locked(name))
        self.redis.delete(FAILURES_KEY.format(name=name))
        if stored is not None and _hasher.check_needs_rehash(stored):
            self.redis.hset(USER_KEY.format(name=name), "password_hash", _hasher.hash(password))
        return LoginResult(True)


# --- CSRF ----------------------------------------------------------------------------------------------------------


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(session: dict[str, Any], submitted: Any) -> bool:
    """True when a submitted form token matches the session's (compared in constant time)."""
    expected = session.get("csrf")
    return (isinstance(expected, str) and isinstance(submitted, str) and bool(submitted)
            and hmac.compare_digest(expected.encode(), submitted.encode()))
