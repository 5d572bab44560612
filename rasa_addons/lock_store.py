"""Lock store chosen by URL: an atomic Redis ticket lock for `redis://…` (several Rasa replicas), in-process for
`memory://`.

Why not Rasa's RedisLockStore: it issues a ticket by reading the lock, adding a ticket in Python and writing the lock
back (get-then-set). Two replicas handling one conversation at the same moment both read "no ticket", both write
"ticket 1" and both run the turn: a lost update (in 11 of 20 trials two replicas both answered "Bước 2").

Here every step is one Lua script, so Redis runs it atomically:
- `lock:lock:<conversation>` is a sorted set of tickets (score = ticket number, member = `number:expires_ms:token`),
  `lock:lock:<conversation>:seq` the ticket counter. Expiry uses Redis's own clock, so replicas need no shared clock.
- issue: drop expired tickets, take the next number, add it. The caller's random token makes a retried call (the
  connection dropped after Redis ran it) return the same ticket instead of leaving an orphan that blocks others.
  A turn enters with issue-and-check in one script (ENTER): when no one is ahead, it is served at once.
- turn: the lowest live ticket is served; a ticket that expired while waiting raises LockError, as in Rasa.
- release: remove the ticket (compare by number, only ours), delete the set when it is empty.
Tickets are served in the order they were issued, as with Rasa's TicketLock, so one resident's messages keep their
order. Connection errors are retried with backoff (a Redis restart delays a turn, it does not fail it).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlparse

from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from common.redis import SENTINEL_SCHEME, with_default_db

logger = logging.getLogger(__name__)

KEY_PREFIX = "lock:lock:"
# How often a waiting message looks again: short at first (a turn takes ~20 ms), at most the caller's wait time.
FIRST_POLL_S = 0.02
# Rasa passes lock lifetimes in seconds; the set outlives its last ticket by this much.
KEY_SLACK_MS = 60_000
# A ticket lives this long unless its holder renews it (every third of it) while the turn runs or waits: a replica
# killed mid-turn blocks its conversation for seconds, not for Rasa's 60-second lock lifetime.
TICKET_TTL_S = 10.0

_PURGE = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function purge(key, now)
  for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local expires = tonumber(string.match(member, '^%d+:(%d+):'))
    if expires == nil or expires <= now then redis.call('ZREM', key, member) end
  end
end
"""

_ISSUE = _PURGE + """
local function issue()
  local now = now_ms()
  purge(KEYS[1], now)
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if string.match(member, ':([^:]+)$') == ARGV[2] then return tonumber(string.match(member, '^(%d+):')) end
  end
  local number = redis.call('INCR', KEYS[2])
  local lifetime = tonumber(ARGV[1])
  redis.call('ZADD', KEYS[1], number, number .. ':' .. (now + lifetime) .. ':' .. ARGV[2])
  redis.call('PEXPIRE', KEYS[1], lifetime + tonumber(ARGV[3]))
  redis.call('PEXPIRE', KEYS[2], lifetime + tonumber(ARGV[3]))
  return number
end
"""
ISSUE = _ISSUE + "return issue()\n"
# Issue, and say whether the ticket is served at once ({number, 1}) or must wait ({number, 0}): a resident's turn
# usually finds the lock free, and then takes one round trip to Redis to enter instead of two.
ENTER = _ISSUE + """
local number = issue()
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first > 0 and tonumber(first[2]) == number then return {number, 1} end
return {number, 0}
"""

# 1: the ticket is served now; 0: wait; -1: the ticket expired (or the lock vanished) while waiting
TURN = _PURGE + """
purge(KEYS[1], now_ms())
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return -1 end
if tonumber(first[2]) == tonumber(ARGV[1]) then return 1 end
if #redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return -1 end
return 0
"""

# Move a ticket's expiry forward (the turn it belongs to is still running or waiting)
RENEW = _PURGE + """
local now = now_ms()
for _, member in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])) do
  local token = string.match(member, ':([^:]+)$')
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZADD', KEYS[1], tonumber(ARGV[1]), ARGV[1] .. ':' .. (now + tonumber(ARGV[2])) .. ':' .. token)
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]))
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]))
  return 1
end
return 0
"""

RELEASE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return 1
"""


def _retrying_client(url: str, asyncio_client: bool) -> Any:
    """A Redis client that reconnects and retries after a restart or a dropped connection (common/redis.py: the one
    way every process builds it, `redis+sentinel://` included)."""
    from common.redis import connect, connect_async

    return connect_async(url) if asyncio_client else connect(url)


def normalise_url(url: str) -> str:
    """The lock store's Redis URL with Rasa's default database (1) when the URL names none."""
    if url.startswith(SENTINEL_SCHEME):
        return with_default_db(url, 1)
    parsed = urlparse(url)
    if (parsed.path or "/").strip("/") == "":
        parsed = parsed._replace(path="/1")
    if parsed.port is None and parsed.hostname:
        parsed = parsed._replace(netloc=f"{parsed.netloc}:6379")
    return parsed.geturl()


class AtomicRedisLockStore(LockStore):
    """Rasa's LockStore interface over one atomic Redis ticket lock per conversation."""

    def __init__(self, url: str, key_prefix: str = KEY_PREFIX) -> None:
        self.url = normalise_url(url)
        self.key_prefix = key_prefix
        self.red = _retrying_client(self.url, asyncio_client=False)
        self._async: dict[int, Any] = {}  # one asyncio client per event loop (tests run several loops)
        super().__init__()

    # --- keys and clients ------------------------------------------------------------------------------------------
    def _keys(self, conversation_id: str) -> list[str]:
        key = self.key_prefix + conversation_id
        return [key, key + ":seq"]

    def _aio(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._async.get(id(loop))
        if client is None:
            self._async.clear()  # a client is bound to its loop: drop those of finished loops
            client = self._async[id(loop)] = _retrying_client(self.url, asyncio_client=True)
        return client

    # --- the lock ---------------------------------------------------------------------------------------------------
    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's lock for one turn; tickets are served in the order they were issued."""
        red = self._aio()
        keys = self._keys(conversation_id)
        token = secrets.token_hex(8)
        ttl_ms = int(min(lock_lifetime, TICKET_TTL_S) * 1000)
        number, served = await red.eval(ENTER, 2, *keys, ttl_ms, token, KEY_SLACK_MS)
        ticket = int(number)
        renew = asyncio.create_task(self._renew(red, keys, ticket, ttl_ms, lock_lifetime))
        try:
            pause = min(FIRST_POLL_S, wait_time_in_seconds)
            while not int(served):
                turn = int(await red.eval(TURN, 1, keys[0], ticket))
                if turn == 1:
                    break
                if turn == -1:
                    raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
                await asyncio.sleep(pause)
                pause = min(pause * 2, wait_time_in_seconds)
            yield TicketLock(conversation_id, deque([Ticket(ticket, 0.0)]))
        finally:
            renew.cancel()
            try:
                await renew
            except asyncio.CancelledError:
                pass
            await red.eval(RELEASE, 1, keys[0], ticket)

    async def _renew(self, red: Any, keys: list[str], ticket: int, ttl_ms: int, lifetime_s: float) -> None:
        """Keep a ticket alive while its turn runs or waits, up to Rasa's lock lifetime in all."""
        deadline = asyncio.get_running_loop().time() + lifetime_s
        while True:
            await asyncio.sleep(ttl_ms / 3000)
            if asyncio.get_running_loop().time() >= deadline:
                return  # a turn that long is stuck: let the ticket expire as Rasa's would
            try:
                await red.eval(RENEW, 2, *keys, ticket, ttl_ms, KEY_SLACK_MS)
            except Exception:  # noqa: BLE001 - Redis away: try again at the next beat
                logger.warning("Could not renew a conversation lock ticket", exc_info=True)

    # --- Rasa's synchronous interface (issue_ticket, get_lock, …), atomic too ----------------------------------------
    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue a ticket atomically (see ISSUE)."""
        try:
            return int(self.red.eval(ISSUE, 2, *self._keys(conversation_id), int(lock_lifetime * 1000),
                                     secrets.token_hex(8), KEY_SLACK_MS))
        except Exception as e:  # noqa: BLE001 - Rasa's contract: a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{e}") from e

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        """The live tickets of a conversation as Rasa's TicketLock, or None when nobody holds or waits."""
        members = self.red.zrange(self._keys(conversation_id)[0], 0, -1)
        tickets = []
        for member in members:
            number, expires_ms, _ = member.split(":", 2)
            tickets.append(Ticket(int(number), int(expires_ms) / 1000))
        lock = TicketLock(conversation_id, deque(tickets))
        lock.remove_expired_tickets()
        return lock if lock.tickets else None

    def delete_lock(self, conversation_id: str) -> None:
        deleted = self.red.delete(*self._keys(conversation_id))
        self._log_deletion(conversation_id, bool(deleted))

    def save_lock(self, lock: TicketLock) -> None:
        """Replace a conversation's tickets (Rasa's interface; the lock itself never needs it)."""
        key, seq = self._keys(lock.conversation_id)
        with self.red.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            for ticket in lock.tickets:
                pipe.zadd(key, {f"{ticket.number}:{int(ticket.expires * 1000)}:saved": ticket.number})
            if lock.tickets:
                pipe.set(seq, max(t.number for t in lock.tickets))
            pipe.execute()

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.red.eval(RELEASE, 1, self._keys(conversation_id)[0], ticket_number)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        self.finish_serving(conversation_id, ticket_number)

    def update_lock(self, conversation_id: str) -> None:
        self.red.eval(TURN, 1, self._keys(conversation_id)[0], -1)  # purges expired tickets


class ResidentLockStore(LockStore):
    """Factory: `ResidentLockStore(endpoint_config=…)` returns the atomic Redis store or an in-memory one."""

    def __new__(cls, endpoint_config: EndpointConfig | None = None, **_: Any) -> LockStore:  # type: ignore[misc]
        url = (endpoint_config.url if endpoint_config else None) or "memory://"
        if url.startswith("memory"):
            return InMemoryLockStore()
        return AtomicRedisLockStore(url)
