"""`python -m bot.web`: the web chat widget and its API on WEB_PORT (default 127.0.0.1:8084)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.state import connect
from bot.web.app import create_app
from bot.web.settings import WebSettings
from common.logs import setup_logging
from common.settings import exit_on_bad_settings


def main() -> None:
    """Read the settings, connect to Redis lazily, and serve until interrupted."""
    settings = exit_on_bad_settings(WebSettings.from_env, "Web chat gateway")
    setup_logging(settings.common.log_format, replica=settings.common.replica)
    redis = connect(settings.common.redis_url)
    app = create_app(settings, redis)

    async def close_redis(_: web.Application) -> None:
        await redis.aclose()

    app.on_cleanup.append(close_redis)
    logging.getLogger(__name__).info(
        "Web chat widget on http://%s:%s (Rasa: %s)", settings.common.host, settings.port, settings.common.rasa_url
    )
    web.run_app(app, host=settings.common.host, port=settings.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
