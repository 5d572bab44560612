"""Gateway settings from the environment. Each gateway reads only its own section and fails fast on what is missing."""

from __future__ import annotations

import os
from dataclasses import dataclass

PLACEHOLDERS = {"", "changeme", "change-me", "xxx", "your-token", "todo"}


class SettingsError(RuntimeError):
    """A required setting is missing or still a placeholder."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if value.lower() in PLACEHOLDERS or "change-me" in value.lower():
        raise SettingsError(f"{name} is not set (see .env.example and the README's gateway section)")
    return value


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

    @classmethod
    def from_env(cls) -> CommonSettings:
        rasa = os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/")
        return cls(
            rasa_url=f"{rasa}/webhooks/rest/webhook",
            redis_url=os.environ.get("REDIS_URL", "").strip() or "redis://127.0.0.1:6379/0",
            host=os.environ.get("GATEWAY_HOST", "127.0.0.1"),
            rasa_timeout_s=float(os.environ.get("RASA_TIMEOUT_S", "30") or 30),
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
