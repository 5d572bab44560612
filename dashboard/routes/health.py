"""The health check: /healthz answers 200 while Redis answers, 503 otherwise (no login, no page)."""

from __future__ import annotations

import redis as redis_lib
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from dashboard.routes.deps import RedisDep

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
def healthz(request: Request, redis: RedisDep) -> Response:
    """Whether the dashboard can reach Redis."""
    try:
        redis.ping()
    except redis_lib.RedisError:
        request.app.state.metrics.redis_error("healthz")
        return JSONResponse({"status": "redis unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})
