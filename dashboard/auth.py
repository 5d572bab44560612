"""Staff accounts, server-side sessions, password checks with login limits, and CSRF tokens.

Keys:
  dashboard:user:<username>                   hash {password_hash (argon2id), created_at}
  dashboard:session:<sha256 of session id>    the username, expiring SESSION_TTL_S after login
  dashboard:sessions:<username>               set of that user's session digests (to end them all at once)
  dashboard:login-failures:<username>@<addr>  failed logins for a username from one address (locks that pair)
  dashboard:login-failures:<username>         failed logins for a username from anywhere (a much higher ceiling)
  dashboard:login-failures-from:<addr>        failed logins from one address, whatever the username
Every failure counter expires FAILURE_WINDOW_S after its first failure.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

USER_KEY = "dashboard:user:{name}"
SESSION_KEY = "dashboard:session:{digest}"
USER_SESSIONS_KEY = "dashboard:sessions:{name}"
USER_ADDRESS_FAILURES_KEY = "dashboard:login-failures:{name}@{address}"
USER_FAILURES_KEY = "dashboard:login-failures:{name}"
ADDRESS_FAILURES_KEY = "dashboard:login-failures-from:{address}"
SESSION_TTL_S = 8 * 3600  # one working day from login, however active the session is
MAX_FAILURES = 5  # per username and address
MAX_ADDRESS_FAILURES = 20  # per address, over all usernames
MAX_USER_FAILURES = 50  # per username, over all addresses
FAILURE_WINDOW_S = 15 * 60
MIN_PASSWORD_CHARS = 10
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against when no real one may be checked, so every refusal takes as long as a wrong password."""
    return _hasher.hash(secrets.token_hex(16))


def _digest(session_id: str) -> str:
    """What Redis keeps of a session id: a copy of the database alone does not give a usable cookie."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def address_key(address: str) -> str:
    """A client address as the limits count it: a normalised IP (IPv4-mapped IPv6 as IPv4), or a cleaned string."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return re.sub(r"[^A-Za-z0-9._:-]", "_", address.strip())[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


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


class Limit(enum.Enum):
    """Which login limit refused an attempt."""

    USER_AT_ADDRESS = "user-at-address"  # too many failures for this username from this address
    USER = "user"  # too many failures for this username from everywhere together
    ADDRESS = "address"  # too many failures from this address, whatever the username


@dataclass(frozen=True)
class LoginLimits:
    """How many failed logins are allowed within the window before attempts are refused."""

    per_user_address: int = MAX_FAILURES
    per_address: int = MAX_ADDRESS_FAILURES
    per_user: int = MAX_USER_FAILURES
    window_s: int = FAILURE_WINDOW_S


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a login attempt: ok (with the normalised username), or refused by a limit, or a wrong password."""

    ok: bool
    limit: Limit | None = None
    user: str = ""

    @property
    def locked(self) -> bool:
        """True when a limit refuses this and further attempts for the rest of the window."""
        return self.limit is not None


class Accounts:
    """Staff accounts and their sessions kept in Redis (a redis.Redis with decode_responses=True)."""

    def __init__(self, redis: Any, limits: LoginLimits | None = None) -> None:
        self.redis = redis
        self.limits = limits or LoginLimits()

    def add(self, username: str, password: str, replace: bool = False) -> str:
        """Create (or with replace=True, reset the password of) an account; return the normalised username.

        Every open session of that username ends and its failure counters are cleared.
        """
        name = check_username(username)
        key = USER_KEY.format(name=name)
        if self.redis.exists(key) and not replace:
            raise AuthError(f"user {name!r} already exists")
        self.redis.hset(key, mapping={"password_hash": hash_password(password), "created_at": f"{time.time():.0f}"})
        self.end_sessions(name)  # a reset password must not leave a stolen session running
        self._clear_failures(name)
        return name

    def exists(self, username: str) -> bool:
        """True when the account exists (sessions of deleted accounts stop working)."""
        return bool(self.redis.exists(USER_KEY.format(name=username)))

    def remove(self, username: str) -> bool:
        """Delete an account and end its sessions; True when there was one."""
        name = check_username(username)
        removed = bool(self.redis.delete(USER_KEY.format(name=name)))
        self.end_sessions(name)
        return removed

    # --- sessions ---------------------------------------------------------------------------------------------

    def start_session(self, username: str) -> str:
        """A new random session id for a user who just logged in, valid for SESSION_TTL_S."""
        session_id = secrets.token_urlsafe(32)
        digest = _digest(session_id)
        sessions = USER_SESSIONS_KEY.format(name=username)
        pipe = self.redis.pipeline()  # MULTI: a session is never stored without being listed under its user
        pipe.set(SESSION_KEY.format(digest=digest), username, ex=SESSION_TTL_S)
        pipe.sadd(sessions, digest)
        pipe.expire(sessions, SESSION_TTL_S)  # outlives every session listed in it
        pipe.execute()
        return session_id

    def session_user(self, session_id: Any) -> str | None:
        """The username of a live session, or None (unknown, expired, logged out or revoked)."""
        if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
            return None
        user = self.redis.get(SESSION_KEY.format(digest=_digest(session_id)))
        return user if isinstance(user, str) else None

    def end_session(self, session_id: Any) -> None:
        """End one session (logout)."""
        if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
            return
        digest = _digest(session_id)
        key = SESSION_KEY.format(digest=digest)
        user = self.redis.get(key)
        self.redis.delete(key)
        if isinstance(user, str):
            self.redis.srem(USER_SESSIONS_KEY.format(name=user), digest)

    def end_sessions(self, username: str) -> int:
        """End every session of a user; return how many were listed."""
        sessions = USER_SESSIONS_KEY.format(name=username)

        def revoke(pipe: Any) -> int:
            # WATCHed: a login that lists a new session meanwhile makes redis-py retry, so none survives
            digests = pipe.smembers(sessions)
            pipe.multi()
            for digest in digests:
                pipe.delete(SESSION_KEY.format(digest=digest))
            pipe.delete(sessions)
            return len(digests)

        return int(self.redis.transaction(revoke, sessions, value_from_callable=True))

    # --- login ------------------------------------------------------------------------------------------------

    def _counter_keys(self, name: str, address: str) -> dict[Limit, str]:
        """The failure counter behind each limit, in the order they are checked.

        A name that cannot be an account gets no per-username counters: "canbo@10.0.0.7" must not reach the
        counter of canbo at 10.0.0.7.
        """
        keys = {Limit.ADDRESS: ADDRESS_FAILURES_KEY.format(address=address)}
        if USERNAME.match(name):
            keys[Limit.USER_AT_ADDRESS] = USER_ADDRESS_FAILURES_KEY.format(name=name, address=address)
            keys[Limit.USER] = USER_FAILURES_KEY.format(name=name)
        return keys

    def _limit_reached(self, name: str, address: str) -> Limit | None:
        """The first limit this username and address have reached, or None."""
        maxima = {Limit.ADDRESS: self.limits.per_address, Limit.USER_AT_ADDRESS: self.limits.per_user_address,
                  Limit.USER: self.limits.per_user}
        keys = self._counter_keys(name, address)
        for limit, count in zip(keys, self.redis.mget(list(keys.values())), strict=True):
            if int(count or 0) >= maxima[limit]:
                return limit
        return None

    def _failed(self, name: str, address: str) -> None:
        """Count a failure under every limit; each counter's window starts at its first failure."""
        pipe = self.redis.pipeline()  # MULTI: a counter is never left without its expiry
        for key in self._counter_keys(name, address).values():
            pipe.set(key, 0, ex=self.limits.window_s, nx=True)
            pipe.incr(key)
        pipe.execute()

    def _clear_failures(self, name: str) -> None:
        """Forget the failures counted for a username (after a password reset), from every address."""
        keys = list(self.redis.scan_iter(match=USER_ADDRESS_FAILURES_KEY.format(name=name, address="*"), count=500))
        self.redis.delete(USER_FAILURES_KEY.format(name=name), *keys)

    def login(self, username: str, password: str, address: str) -> LoginResult:
        """Check a password from a client address, counting failures per username+address, username and address.

        A refused attempt still runs one argon2 verification, so it takes as long as a wrong password and the time
        tells nothing about which usernames exist or are locked.
        """
        name = username.strip().lower()[:64]
        where = address_key(address)
        limit = self._limit_reached(name, where)
        if limit is not None:
            try:
                _hasher.verify(_dummy_hash(), password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                pass
            return LoginResult(False, limit=limit)
        stored = self.redis.hget(USER_KEY.format(name=name), "password_hash") if USERNAME.match(name) else None
        try:
            _hasher.verify(stored or _dummy_hash(), password)
            ok = stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self._failed(name, where)
            return LoginResult(False, limit=self._limit_reached(name, where))
        # only this pair's counter: a success must not reset what others spent on this username or address
        self.redis.delete(USER_ADDRESS_FAILURES_KEY.format(name=name, address=where))
        if stored is not None and _hasher.check_needs_rehash(stored):
            self.redis.hset(USER_KEY.format(name=name), "password_hash", _hasher.hash(password))
        return LoginResult(True, user=name)


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
