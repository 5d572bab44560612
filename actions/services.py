"""The action server's Redis-backed stores, built once from its settings.

rasa_sdk constructs the actions itself, so they look their stores up here rather than being handed them; everything is
built on first use from the one `Settings` object, never at import. With REDIS_URL=memory:// (the terminal demo only)
the stores keep their entries in this process.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker

from actions import settings as config
from actions.analytics import AnalyticsLog, Context, QueuedAnalyticsLog
from actions.feedback_store import FeedbackStore
from actions.tracking import resident_text
from common.communes import COMMUNES_DIR, Commune, load_commune
from common.metrics import ActionMetrics, is_redis_error
from common.records import pseudonym
from common.redis import MemoryRedis, connect

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def redis_client() -> Any:
    """The process's Redis client (or the in-memory stand-in in the terminal demo)."""
    settings = config.get_settings().serving()
    return MemoryRedis() if settings.demo else connect(str(settings.redis_url))


@lru_cache(maxsize=1)
def get_metrics() -> ActionMetrics:
    """The action server's metrics (its own registry, served on /metrics)."""
    return ActionMetrics()


def count_reply(kind: str) -> None:
    """Count one reply of a kind on /metrics (the analytics log keeps the details)."""
    get_metrics().reply(kind)


def count_redis_error(exc: BaseException, component: str) -> None:
    """Count a failure on /metrics when Redis caused it."""
    if is_redis_error(exc):
        get_metrics().redis_error(component)


@lru_cache(maxsize=1)
def get_feedback_store() -> FeedbackStore:
    """Ratings and comments (`feedback:v1`)."""
    return FeedbackStore(redis_client(), config.get_settings().feedback_retention_days)


@lru_cache(maxsize=1)
def get_analytics() -> AnalyticsLog:
    """Answers, clarifications and walkthrough events (`analytics:v1`): written in the background, except in the
    terminal demo, whose in-process store is written at once."""
    def on_error() -> None:
        get_metrics().redis_error("analytics")

    if config.get_settings().serving().demo:
        return AnalyticsLog(redis_client(), on_error=on_error)
    return QueuedAnalyticsLog(redis_client(), on_error=on_error)


def resident_id(sender_id: str) -> str:
    """The pseudonym a conversation's resident is stored under."""
    return pseudonym(sender_id, config.get_settings().pseudonym_key)


@lru_cache(maxsize=1)
def get_commune() -> Commune:
    """The commune this deployment serves (COMMUNE_ID picks communes/<id>.yml)."""
    return load_commune(COMMUNES_DIR / f"{config.get_settings().commune_id}.yml")


def context_of(tracker: Tracker) -> Context:
    """The conversation's channel, commune and resident pseudonym, as analytics stores them."""
    return Context(tracker.get_latest_input_channel() or "rest", config.get_settings().commune_id,
                   resident_id(tracker.sender_id))


def log_reply(tracker: Tracker, kind: str, guide_id: str | None = None, candidates: list[str] | None = None) -> None:
    """Record a reply in the analytics log (never raises: a reply goes out even when it cannot be recorded)."""
    count_reply(kind)
    try:
        get_analytics().reply(context_of(tracker), kind, resident_text(tracker), guide_id, candidates)
    except Exception:  # noqa: BLE001 - e.g. a broken settings file: the reply goes out anyway
        logger.exception("Could not record a %s reply", kind)


def log_walkthrough(tracker: Tracker, payload: dict[str, Any]) -> None:
    """Record a walkthrough event (started, step, stuck, finished, abandoned) from the message that announced it."""
    count_reply("walkthrough")
    try:
        get_analytics().walkthrough(context_of(tracker), payload)
    except Exception:  # noqa: BLE001 - analytics must never break a walkthrough
        logger.exception("Could not record a walkthrough event")
