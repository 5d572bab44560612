"""Action server entry point: rasa-sdk's server, plus loading the retrieval index as soon as it is up.

`python -m actions.server [--port 5055]` is `python -m rasa_sdk --actions actions` with one difference: right after
the server starts (never at import: rasa-sdk spawns workers by pickling the app factory), a background thread loads
the guides, the embedding model and the index, so the first resident does not wait for them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from functools import partial

from rasa_sdk.constants import DEFAULT_KEEP_ALIVE_TIMEOUT
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic
from sanic.worker.loader import AppLoader

from actions.settings import get_settings
from common.settings import exit_on_bad_settings

logger = logging.getLogger(__name__)


def _warm() -> None:
    """Load the index and run one query so the model's first-call costs are paid now."""
    from actions.retrieval.index import get_index

    try:
        get_index().search("kích hoạt tài khoản định danh điện tử")
        logger.info("Retrieval index loaded")
    except Exception:  # noqa: BLE001 - a broken index must not stop the server; the action reports it
        logger.exception("Could not load the retrieval index at start-up")


def create_app(endpoints: str = "endpoints.yml") -> Sanic:
    """The rasa-sdk app with every action of the `actions` package and a warm-up listener."""
    executor = ActionExecutor()
    executor.register_package("actions")
    app = create_app_for_serve(executor, cors_origins=None, endpoints=endpoints,
                               keep_alive_timeout=DEFAULT_KEEP_ALIVE_TIMEOUT)

    async def warm_up(_: Sanic) -> None:
        asyncio.get_running_loop().run_in_executor(None, _warm)

    app.after_server_start(warm_up)
    return app


def main() -> None:
    """Parse the port and serve on 127.0.0.1 (SANIC_HOST overrides, e.g. 0.0.0.0 in a container)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-p", "--port", type=int, default=None, help="default ACTIONS_PORT (5055)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s - %(message)s")
    settings = exit_on_bad_settings(lambda: get_settings().serving(), "Action server")  # before serving anyone
    loader = AppLoader(factory=partial(create_app))
    app = loader.load()
    app.prepare(host=settings.host, port=args.port or settings.port, workers=1, single_process=True)
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
