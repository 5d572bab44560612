"""Gateway settings from the environment. Each gateway reads only its own section and fails fast on what is missing.

A gateway process has one settings object per concern it serves (`CommonSettings` plus its channel's), read once in its
`main` and passed in; a bad value stops the start with one clear line (`common.settings.exit_on_bad_settings`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from common.settings import PLACEHOLDERS, REDIS_SCHEMES, SettingsError

__all__ = ["CommonSettings", "SettingsError", "TelegramSettings", "ZaloBotSettings", "ZaloOASettings"]


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if value.lower() in PLACEHOLDERS or "change-me" in value.lower() or "changeme" in value.lower():
        raise SettingsError(f"{name} is not set, or still the placeholder from .env.example (see the README's "
                            "gateway section)")
    return value


def flag(name: str, default: bool = False) -> bool:
    """A yes/no variable: 1/true/yes or 0/false/no; anything else (a typo) is an error, never silently "no"."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in {"0", "1", "true", "false", "yes", "no"}:
        raise SettingsError(f"{name} must be 1 or 0 (true/false, yes/no), got {raw!r}")
    return raw in {"1", "true", "yes"}


def _seconds(name: str, default: float, maximum: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if not 0 < value <= maximum:
        raise SettingsError(f"{name} must be more than 0 and at most {maximum:g} seconds, got {raw!r}")
    return value


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL", "").strip()
    if not url:
        raise SettingsError("REDIS_URL is not set: gateways keep conversations, tickets and held messages in Redis "
                            "(e.g. redis://127.0.0.1:6379/0)")
    if not url.startswith(REDIS_SCHEMES):
        raise SettingsError(f"REDIS_URL must start with {', '.join(REDIS_SCHEMES)}")
    return url


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc


@dataclass(frozen=True)
class CommonSettings:
    """What every gateway needs: where Rasa and Redis are, and where to listen."""

    rasa_url: str
    redis_url: str
    host: str
    rasa_timeout_s: float
    commune_id: str = "vi-du"
    pseudonym_key: bytes = b""  # FEEDBACK_ID_KEY: the handoff log's resident pseudonyms match the feedback log's

    @classmethod
    def from_env(cls) -> CommonSettings:
        rasa = os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/")
        return cls(
            rasa_url=f"{rasa}/webhooks/rest/webhook",
            redis_url=_redis_url(),
            host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
            rasa_timeout_s=_seconds("RASA_TIMEOUT_S", 30.0, 600.0),
            commune_id=os.environ.get("COMMUNE_ID", "").strip() or "vi-du",
            pseudonym_key=_required("FEEDBACK_ID_KEY").encode(),
        )


@dataclass(frozen=True)
class ZaloOASettings:
    """Zalo Official Account API v3 (webhook in, /v3.0/oa/message/cs out)."""

    app_id: str
    secret_key: str  # the OA secret key: signs webhooks
    app_secret: str  # the app's secret key: refreshes tokens
    access_token: str
    refresh_token: str
    api_base: str
    oauth_base: str
    port: int
    max_event_age_s: int = 600  # a signed event older than this is a replay, not a retry (Zalo retries within seconds)

    @classmethod
    def from_env(cls) -> ZaloOASettings:
        return cls(
            app_id=_required("ZALO_OA_APP_ID"),
            secret_key=_required("ZALO_OA_SECRET_KEY"),
            app_secret=_required("ZALO_APP_SECRET"),
            access_token=_required("ZALO_OA_ACCESS_TOKEN"),
            refresh_token=_required("ZALO_OA_REFRESH_TOKEN"),
            api_base=os.environ.get("ZALO_OA_API_BASE", "https://openapi.zalo.me").rstrip("/"),
            oauth_base=os.environ.get("ZALO_OAUTH_BASE", "https://oauth.zaloapp.com").rstrip("/"),
            port=_int("ZALO_OA_PORT", 8081),
            max_event_age_s=_int("ZALO_OA_MAX_EVENT_AGE_S", 600),
        )


@dataclass(frozen=True)
class ZaloBotSettings:
    """Zalo Bot Platform (Telegram-shaped bot API): webhook with a secret token, or polling for development."""

    token: str
    webhook_secret: str
    api_base: str
    mode: str  # webhook | polling
    port: int
    webhook_url: str = ""  # ZALO_BOT_WEBHOOK_URL: registered with Zalo at start in webhook mode

    @classmethod
    def from_env(cls) -> ZaloBotSettings:
        mode = os.environ.get("ZALO_BOT_MODE", "webhook").strip()
        if mode not in ("webhook", "polling"):
            raise SettingsError(f"ZALO_BOT_MODE must be webhook or polling, got {mode!r}")
        return cls(
            token=_required("ZALO_BOT_TOKEN"),
            webhook_secret=_required("ZALO_BOT_WEBHOOK_SECRET") if mode == "webhook" else "",
            api_base=os.environ.get("ZALO_BOT_API_BASE", "https://bot-api.zapps.me").rstrip("/"),
            mode=mode,
            port=_int("ZALO_BOT_PORT", 8082),
            webhook_url=os.environ.get("ZALO_BOT_WEBHOOK_URL", "").strip(),
        )


@dataclass(frozen=True)
class TelegramSettings:
    """The Telegram bot: volunteers' team group (tickets) and residents' private chats."""

    token: str
    team_chat_id: int
    webhook_secret: str
    api_base: str
    mode: str  # webhook | polling
    port: int
    reminder_minutes: int

    @classmethod
    def from_env(cls) -> TelegramSettings:
        mode = os.environ.get("TELEGRAM_MODE", "polling").strip()
        if mode not in ("webhook", "polling"):
            raise SettingsError(f"TELEGRAM_MODE must be webhook or polling, got {mode!r}")
        team = _required("TELEGRAM_TEAM_CHAT_ID")
        try:
            team_id = int(team)
        except ValueError as exc:
            raise SettingsError(f"TELEGRAM_TEAM_CHAT_ID must be a chat id like -1001234567890, got {team!r}") from exc
        return cls(
            token=_required("TELEGRAM_BOT_TOKEN"),
            team_chat_id=team_id,
            webhook_secret=_required("TELEGRAM_WEBHOOK_SECRET") if mode == "webhook" else "",
            api_base=os.environ.get("TELEGRAM_API_BASE", "https://api.telegram.org").rstrip("/"),
            mode=mode,
            port=_int("TELEGRAM_PORT", 8083),
            reminder_minutes=_int("HANDOFF_REMINDER_MINUTES", 10),
        )
