"""Action server entry point: rasa-sdk's server, plus loading the retrieval index as soon as it is up.

`python -m actions.server [--port 5055]` is `python -m rasa_sdk --actions actions` with one difference: right after
the server starts (never at import: rasa-sdk spawns workers by pickling the app factory), a background thread loads
the guides, the embedding model and the index, so the first resident does not wait for them. `GET /metrics` serves
the action server's Prometheus metrics (common/metrics.py): actions run and their latency, replies by kind.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from functools import partial
from typing import Any

from rasa_sdk.constants import DEFAULT_KEEP_ALIVE_TIMEOUT
from rasa_sdk.endpoint import create_app_for_serve
from rasa_sdk.executor import ActionExecutor, ActionExecutorRunResult, CollectingDispatcher
from sanic import Request, Sanic
from sanic.response import HTTPResponse, raw
from sanic.worker.loader import AppLoader

from actions import services
from actions.settings import get_settings
from common.logs import setup_logging
from common.memory import settle
from common.metrics import CONTENT_TYPE, render
from common.settings import exit_on_bad_settings

logger = logging.getLogger(__name__)


def _warm() -> None:
    """Load the index, run one query, ready each guide's part model and load the procedure catalogue, so first-call
    costs are paid now; then settle (common.memory): what was loaded leaves the collector's reach and the heap freed
    while learning goes back."""
    from actions.retrieval.index import get_index
    from actions.retrieval.sections import ready_part_models
    from procedures.search import get_procedure_index

    try:
        index = get_index()
        index.search("kích hoạt tài khoản định danh điện tử")
        parts = ready_part_models(index)
        get_procedure_index()
        logger.info("Retrieval index loaded (part models %s)", parts)
    except Exception:  # noqa: BLE001 - a broken index must not stop the server; the action reports it
        logger.exception("Could not load the retrieval index at start-up")
        return
    settle("Action server")


class TimedExecutor(ActionExecutor):
    """rasa-sdk's executor, counting every action call and timing it per action name on /metrics."""

    async def run(self, action_call: dict[str, Any], sink: asyncio.Queue | None = None,
                  dispatcher: CollectingDispatcher | None = None) -> ActionExecutorRunResult | None:
        """Run the action Rasa asked for, as rasa-sdk does, and record its outcome and duration."""
        name = str(action_call.get("next_action") or "")
        # only names we serve become labels: a request naming anything else must not grow the series
        label = name if name in self.actions else "unknown"
        metrics = services.get_metrics()
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await super().run(action_call, sink, dispatcher)
            outcome = "ok"
            return result
        finally:
            metrics.latency.labels(action=label).observe(time.perf_counter() - started)
            metrics.turns.labels(outcome=outcome).inc()


async def metrics_endpoint(_: Request) -> HTTPResponse:
    """Prometheus' scrape: this process's metrics, nothing personal in them."""
    return raw(render(services.get_metrics().registry), content_type=CONTENT_TYPE)


def create_app(endpoints: str = "endpoints.yml") -> Sanic:
    """The rasa-sdk app with every action of the `actions` package, /metrics and a warm-up listener."""
    executor = TimedExecutor()
    executor.register_package("actions")
    app = create_app_for_serve(executor, cors_origins=None, endpoints=endpoints,
                               keep_alive_timeout=DEFAULT_KEEP_ALIVE_TIMEOUT)
    app.add_route(metrics_endpoint, "/metrics", methods=["GET"], name="metrics")

    async def warm_up(_: Sanic) -> None:
        asyncio.get_running_loop().run_in_executor(None, _warm)

    app.after_server_start(warm_up)
    return app


def main() -> None:
    """Parse the port and serve on 127.0.0.1 (SANIC_HOST overrides, e.g. 0.0.0.0 in a container)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-p", "--port", type=int, default=None, help="default ACTIONS_PORT (5055)")
    args = parser.parse_args()
    settings = exit_on_bad_settings(lambda: get_settings().serving(), "Action server")  # before serving anyone
    setup_logging(settings.log_format, replica=settings.replica)
    loader = AppLoader(factory=partial(create_app))
    app = loader.load()
    app.prepare(host=settings.host, port=args.port or settings.port, workers=1, single_process=True)
    Sanic.serve_single(primary=app)


if __name__ == "__main__":
    main()
