"""`GET /metrics`: the dashboard's Prometheus metrics (no login, like /healthz; counts and timings only, nothing
personal), and the middleware that counts every request by its route template."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from common.metrics import CONTENT_TYPE, DashboardMetrics, is_redis_error, render

router = APIRouter()


def get_metrics(request: Request) -> DashboardMetrics:
    """The app's metrics (kept on app.state by create_app)."""
    metrics: DashboardMetrics = request.app.state.metrics
    return metrics


@router.get("/metrics", include_in_schema=False)
def metrics_endpoint(request: Request) -> Response:
    """Prometheus' scrape of this process."""
    return Response(render(get_metrics(request).registry), media_type=CONTENT_TYPE)


def route_of(request: Request) -> str:
    """The matched route's template (`/feedback/{entry_id}`), never the path itself: a path can carry an id."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


async def count_requests(request: Request, call_next: Any) -> Response:
    """Count and time every request by route template, method and status (a raised error counts as a 500)."""
    metrics = get_metrics(request)
    started = time.perf_counter()
    try:
        response: Response = await call_next(request)
    except Exception as exc:
        if is_redis_error(exc):
            metrics.redis_error()
        metrics.observe(route_of(request), request.method, 500, time.perf_counter() - started)
        raise
    metrics.observe(route_of(request), request.method, response.status_code, time.perf_counter() - started)
    return response
