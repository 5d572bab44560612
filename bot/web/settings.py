"""Settings of the web chat gateway, from the environment (see .env.example and the README's "Web" section)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from bot.settings import CommonSettings, SettingsError, load
from common.settings import ProcessSettings

__all__ = ["SettingsError", "WebSettings"]


class WebSettings(ProcessSettings):
    """Where the widget's server listens, which other websites may embed it, and how fast one visitor may write."""

    common: CommonSettings
    port: int = Field(8084, ge=0, lt=65536, validation_alias="WEB_PORT")
    # `https://xa-vi-du.gov.vn, https://www.xa-vi-du.gov.vn` → normalised origins
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias="WEB_ALLOWED_ORIGIN")
    rate_per_minute: int = Field(30, ge=1, validation_alias="WEB_RATE_LIMIT")
    trust_forwarded: bool = Field(False, validation_alias="WEB_TRUST_FORWARDED")
    static_max_age_s: int = 300

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, raw: object) -> object:
        if not isinstance(raw, str):
            return raw
        out = []
        for item in (part.strip().rstrip("/") for part in raw.split(",")):
            if not item:
                continue
            parts = urlsplit(item)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query:
                raise ValueError(f"must list origins like https://xa-vi-du.gov.vn, got {item!r}")
            out.append(f"{parts.scheme}://{parts.netloc.lower()}")
        return tuple(out)

    @classmethod
    def from_env(cls) -> WebSettings:
        return load(cls, common=CommonSettings.from_env())
