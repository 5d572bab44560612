"""The dashboard's /metrics: no login needed, requests counted by route template, nothing personal shown."""

from __future__ import annotations

import redis
from dashboard_support import SECRET
from fastapi.testclient import TestClient

from common.metrics import value
from dashboard.app import create_app
from dashboard.settings import DashboardSettings


def test_metrics_answer_without_a_session_and_count_requests(dashboard_redis: redis.Redis) -> None:
    with TestClient(create_app(DashboardSettings(secret_key=SECRET), dashboard_redis)) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/feedback/1700000000000-0/ack", follow_redirects=False).status_code in (303, 405)
        response = client.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        text = response.text
    assert value(text, "troly_dashboard_requests_total", route="/healthz", method="GET", status="200") == 1
    assert value(text, "troly_dashboard_request_seconds_count", route="/healthz") == 1
    # a path holding an id is counted under its template, never under the id
    assert "1700000000000-0" not in text


def test_redis_down_is_counted_and_the_scrape_still_answers() -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, decode_responses=True, socket_connect_timeout=0.2)
    with TestClient(create_app(DashboardSettings(secret_key=SECRET), dead)) as client:
        assert client.get("/public").status_code == 503
        response = client.get("/metrics")
    assert response.status_code == 200
    assert value(response.text, "troly_redis_errors_total", component="dashboard") == 1
    assert value(response.text, "troly_dashboard_requests_total", route="/public", method="GET", status="503") == 1
