"""Gateway settings: each gateway process reads its own once at start (`load`), checked, and passes them in.

What every gateway needs is `CommonSettings`; each channel adds its own class. A missing, placeholder or malformed
value stops the start with one line naming the variable (`common.settings.exit_on_bad_settings`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from common.logs import LogFormat
from common.settings import PLACEHOLDERS, ProcessSettings, RedisURL, Secret, SettingsError, load

__all__ = ["CommonSettings", "SettingsError", "TelegramSettings", "ZaloBotSettings", "ZaloOASettings", "load"]

WEBHOOK_PATH = "/webhooks/rest/webhook"


def _optional_secret(value: str) -> str:
    """A secret needed only in some modes: empty is fine here (the mode check asks for it), a placeholder is not."""
    if value and (value.lower() in PLACEHOLDERS or "change-me" in value.lower() or "changeme" in value.lower()):
        raise ValueError("is still the placeholder from .env.example")
    return value


class CommonSettings(ProcessSettings):
    """What every gateway needs: where Rasa and Redis are, where to listen, the commune and the pseudonym key."""

    rasa_url: str = Field("http://127.0.0.1:5005", validation_alias="RASA_URL")  # the REST webhook once validated
    redis_url: RedisURL
    host: str = Field("127.0.0.1", validation_alias="GATEWAY_HOST")
    rasa_timeout_s: float = Field(30.0, gt=0, le=600, allow_inf_nan=False)
    commune_id: str = "vi-du"
    feedback_id_key: Secret  # the handoff log's resident pseudonyms match the feedback log's
    replica: str = Field("", validation_alias="HOSTNAME")  # names this replica's stream consumers (a pod's name)
    log_format: LogFormat = Field("text", validation_alias="LOG_FORMAT")  # json for a log collector

    @field_validator("rasa_url")
    @classmethod
    def _webhook(cls, value: str) -> str:
        value = value.rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value if value.endswith(WEBHOOK_PATH) else value + WEBHOOK_PATH

    @property
    def pseudonym_key(self) -> bytes:
        return self.feedback_id_key.encode()

    @classmethod
    def from_env(cls) -> CommonSettings:
        return load(cls)


class ZaloOASettings(ProcessSettings):
    """Zalo Official Account API v3 (webhook in, /v3.0/oa/message/cs out)."""

    app_id: Secret = Field(validation_alias="ZALO_OA_APP_ID")
    secret_key: Secret = Field(validation_alias="ZALO_OA_SECRET_KEY")  # the OA secret key: signs webhooks
    app_secret: Secret = Field(validation_alias="ZALO_APP_SECRET")  # the app's secret key: refreshes tokens
    access_token: Secret = Field(validation_alias="ZALO_OA_ACCESS_TOKEN")
    refresh_token: Secret = Field(validation_alias="ZALO_OA_REFRESH_TOKEN")
    api_base: str = Field("https://openapi.zalo.me", validation_alias="ZALO_OA_API_BASE")
    oauth_base: str = Field("https://oauth.zaloapp.com", validation_alias="ZALO_OAUTH_BASE")
    port: int = Field(8081, ge=0, lt=65536, validation_alias="ZALO_OA_PORT")
    # a signed event older than this is a replay, not a retry (Zalo retries within seconds)
    max_event_age_s: int = Field(600, gt=0, validation_alias="ZALO_OA_MAX_EVENT_AGE_S")
    # send past Zalo's reply window (8 replies / 48 h) as proactive messages: a verified OA, counted and paid
    proactive: bool = Field(False, validation_alias="ZALO_OA_PROACTIVE")

    @field_validator("api_base", "oauth_base")
    @classmethod
    def _base(cls, value: str) -> str:
        return value.rstrip("/")

    @classmethod
    def from_env(cls) -> ZaloOASettings:
        return load(cls)


class BotAPISettings(ProcessSettings):
    """What the two Telegram-shaped bot APIs share: a base URL, and a webhook secret required in webhook mode.

    Subclasses declare `api_base`, `mode` and `webhook_secret` with their own variables and defaults.
    """

    @field_validator("webhook_secret", check_fields=False)
    @classmethod
    def _secret(cls, value: str) -> str:
        return _optional_secret(value)

    @field_validator("api_base", check_fields=False)
    @classmethod
    def _base(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Any:
        if getattr(self, "mode", "") == "webhook" and not getattr(self, "webhook_secret", ""):
            fields = type(self).model_fields
            secret, mode = (str(fields[n].validation_alias) for n in ("webhook_secret", "mode"))
            raise ValueError(f"{secret} is not set (required when {mode}=webhook)")
        return self


class ZaloBotSettings(BotAPISettings):
    """Zalo Bot Platform (Telegram-shaped bot API): webhook with a secret token, or polling for development."""

    token: Secret = Field(validation_alias="ZALO_BOT_TOKEN")
    webhook_secret: str = Field("", repr=False, validation_alias="ZALO_BOT_WEBHOOK_SECRET")
    api_base: str = Field("https://bot-api.zaloplatforms.com", validation_alias="ZALO_BOT_API_BASE")
    mode: Literal["webhook", "polling"] = Field("webhook", validation_alias="ZALO_BOT_MODE")
    port: int = Field(8082, ge=0, lt=65536, validation_alias="ZALO_BOT_PORT")
    webhook_url: str = Field("", validation_alias="ZALO_BOT_WEBHOOK_URL")  # registered with Zalo at start

    @classmethod
    def from_env(cls) -> ZaloBotSettings:
        return load(cls)


class TelegramSettings(BotAPISettings):
    """The Telegram bot: volunteers' team group (tickets) and residents' private chats."""

    token: Secret = Field(validation_alias="TELEGRAM_BOT_TOKEN")
    team_chat_id: int = Field(validation_alias="TELEGRAM_TEAM_CHAT_ID")
    webhook_secret: str = Field("", repr=False, validation_alias="TELEGRAM_WEBHOOK_SECRET")
    api_base: str = Field("https://api.telegram.org", validation_alias="TELEGRAM_API_BASE")
    mode: Literal["webhook", "polling"] = Field("polling", validation_alias="TELEGRAM_MODE")
    port: int = Field(8083, ge=0, lt=65536, validation_alias="TELEGRAM_PORT")
    reminder_minutes: int = Field(10, gt=0, validation_alias="HANDOFF_REMINDER_MINUTES")

    @field_validator("team_chat_id", mode="before")
    @classmethod
    def _chat_id(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            raise ValueError("must be a chat id like -1001234567890")
        return value

    @classmethod
    def from_env(cls) -> TelegramSettings:
        return load(cls)
