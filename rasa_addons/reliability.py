"""Three changes to how Rasa 3.6 handles failures, so that a resident's message is answered or kept, never dropped.

1. **No silent in-memory fallback.** Rasa wraps every tracker store in `FailSafeTrackerStore`, which turns a failed
   read into "no conversation" and a failed write into a write to process memory. With Redis restarting, the read
   failed, Rasa started a fresh conversation and the walkthrough was gone. Here a store error raises
   `TrackerStoreUnavailable`: the channel answers "busy" (HTTP 503) and the gateway keeps the message and retries.
2. **An unreachable action server fails the turn.** Rasa logs a failed custom-action call and carries on without its
   events, so the resident got `200 []` and the message was never answered. When the action server cannot be reached
   (connection refused, timeout, 502/503/504) the turn is not saved and `ActionServerUnavailable` is raised: busy,
   kept, retried. An action that *crashes* (HTTP 500) is not an outage: the turn goes on and the channel apologises.
3. **A message is handled once.** A gateway that retries (it timed out, or it restarted mid-message) sends the same
   `message_id` again. Under the conversation lock, a `message_id` the conversation already holds is not run again:
   the replies it got are sent again from the tracker. A new message goes on with that same tracker: the processor's
   own read of the conversation (`MessageProcessor.get_tracker`, right after, under the same lock) is not made a
   second time (that second read and parse was about a fourteenth of Rasa's CPU per turn).

Each patch replaces one Rasa function and is applied only to the Rasa version it was written for (3.6.x, checked in
`install`); tests/rasa_addons/test_reliability.py exercises each one against the installed Rasa.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

logger = logging.getLogger(__name__)

SUPPORTED_RASA = "3.6."
TRANSIENT_HTTP = {502, 503, 504}

# Set when a custom action could not reach the action server during the current turn (one task per message).
_action_server_down: contextvars.ContextVar[str] = contextvars.ContextVar("action_server_down", default="")
# The conversation the duplicate check has just read under the lock, for the processor's read of it in the same turn.
_already_read: contextvars.ContextVar[tuple[str, Any] | None] = contextvars.ContextVar("already_read", default=None)
_installed = False


class TrackerStoreUnavailable(RuntimeError):
    """The conversation store failed (Redis away): the message must be retried, not answered from nothing."""


class ActionServerUnavailable(RuntimeError):
    """The action server could not be reached during this turn: the turn was not saved and must be retried."""


def raise_store_error(error: Exception) -> None:
    """FailSafeTrackerStore's error callback: fail the turn instead of falling back to memory."""
    logger.error("Conversation store unavailable (%s: %s); the message will be retried",
                 error.__class__.__name__, error)
    raise TrackerStoreUnavailable(str(error)) from error


def is_transient(error: BaseException) -> bool:
    """True when a custom-action call failed because the action server was unreachable, not because it crashed."""
    import aiohttp

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (aiohttp.ClientConnectionError, asyncio.TimeoutError, ConnectionError)):
            return True
        if isinstance(current, aiohttp.ClientResponseError) and current.status in TRANSIENT_HTTP:
            return True
        status = getattr(current, "status", None)
        if isinstance(status, int) and status in TRANSIENT_HTTP:
            return True
        current = current.__cause__ or current.__context__
    return False


def replies_for(tracker: Any, message_id: str) -> list[dict[str, Any]] | None:
    """The bot messages that answered `message_id`, or None when the conversation has not seen that message."""
    from rasa.shared.core.events import BotUttered, UserUttered

    if tracker is None or not message_id:
        return None
    replies: list[dict[str, Any]] | None = None
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                replies = []
        elif replies is not None and isinstance(event, BotUttered):
            replies.append(event.message())
    return replies


def install() -> None:
    """Apply the three patches once per process; refuse a Rasa version they were not checked against."""
    global _installed
    if _installed:
        return
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.lock_store import LockStore
    from rasa.core.processor import MessageProcessor
    from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore

    if not rasa.__version__.startswith(SUPPORTED_RASA):
        raise RuntimeError(f"rasa_addons.reliability was written for Rasa {SUPPORTED_RASA}x, found "
                           f"{rasa.__version__}: check the patched functions against the new version first")

    # 1. the tracker store wrapper raises instead of falling back to memory
    def create_tracker_store(store: TrackerStore | None, domain: Any) -> TrackerStore:
        from rasa.core.tracker_store import InMemoryTrackerStore

        if store is not None:
            store.domain = domain
            return FailSafeTrackerStore(store, on_tracker_store_error=raise_store_error)
        return FailSafeTrackerStore(InMemoryTrackerStore(domain), on_tracker_store_error=raise_store_error)

    Agent._create_tracker_store = staticmethod(create_tracker_store)  # type: ignore[method-assign]

    # 2. an unreachable action server marks the turn; the turn's save then refuses
    remote_run = RemoteAction.run

    async def run(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
        try:
            return await remote_run(self, *args, **kwargs)
        except Exception as error:
            if is_transient(error):
                _action_server_down.set(self.name())
            raise

    RemoteAction.run = run  # type: ignore[method-assign]

    save_tracker = MessageProcessor.save_tracker

    async def save(self: MessageProcessor, tracker: Any) -> None:
        failed = _action_server_down.get()
        if failed:
            _action_server_down.set("")
            raise ActionServerUnavailable(f"action server unreachable while running {failed}")
        await save_tracker(self, tracker)

    MessageProcessor.save_tracker = save  # type: ignore[method-assign]

    # 3. a message id the conversation already holds is answered from the tracker, not run again; a new one goes on
    # with the tracker read for that check
    get_tracker = MessageProcessor.get_tracker

    async def get_tracker_once(self: MessageProcessor, conversation_id: str) -> Any:
        held = _already_read.get()
        if held is not None:
            _already_read.set(None)
            sender, tracker = held
            if sender == conversation_id:
                # what MessageProcessor.get_tracker does to the tracker it reads
                tracker.model_id = self.model_metadata.model_id
                if tracker.assistant_id is None:
                    tracker.assistant_id = self.model_metadata.assistant_id
                return tracker
        return await get_tracker(self, conversation_id)

    MessageProcessor.get_tracker = get_tracker_once  # type: ignore[method-assign]

    async def handle_message(self: Agent, message: Any) -> Any:
        if not self.is_ready():
            logger.info("Ignoring message as there is no agent to handle it.")
            return None
        _action_server_down.set("")
        lock_store: LockStore = self.lock_store
        async with lock_store.lock(message.sender_id):
            if (message.metadata or {}).get("client_message_id"):
                tracker = await self.tracker_store.retrieve(message.sender_id)  # type: ignore[union-attr]
                replies = replies_for(tracker, message.message_id)
                if replies is not None:
                    logger.info("Message %s was handled before; sending its %d replies again",
                                message.message_id, len(replies))
                    for reply in replies:
                        await message.output_channel.send_response(message.sender_id, reply)
                    return getattr(message.output_channel, "messages", None)
                if tracker is not None:  # a new conversation is created by the processor, as before
                    _already_read.set((message.sender_id, tracker))
            try:
                return await self.processor.handle_message(message)  # type: ignore[union-attr]
            finally:
                _already_read.set(None)

    Agent.handle_message = handle_message  # type: ignore[method-assign]
    _installed = True
