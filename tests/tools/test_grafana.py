"""The Grafana dashboard (deploy/grafana/tro-ly.json) graphs only metrics the processes register."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from common.metrics import ActionMetrics, DashboardMetrics, GatewayMetrics, metric_names

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "tro-ly.json"
NAME = re.compile(r"\btroly_[a-z0-9_]+")


def expressions(panels: list[dict[str, Any]]) -> list[str]:
    out = []
    for panel in panels:
        out += [target["expr"] for target in panel.get("targets", [])]
        out += expressions(panel.get("panels", []))  # rows hold panels
    return out


def registered() -> set[str]:
    names: set[str] = set()
    for metrics in (ActionMetrics(), GatewayMetrics(), DashboardMetrics()):
        names |= metric_names(metrics.registry)
    return names


def test_every_metric_the_dashboard_graphs_is_registered() -> None:
    exprs = expressions(json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"])
    used = {name for expr in exprs for name in NAME.findall(expr)}
    assert used, "the dashboard graphs nothing"
    assert used - registered() == set()


def test_the_registered_names_include_the_series_a_scrape_shows() -> None:
    names = registered()
    assert {"troly_gateway_turn_seconds_bucket", "troly_action_replies_total", "troly_handoffs_open",
            "troly_stream_lag", "troly_zalo_oa_quota_left", "troly_redis_errors_total"} <= names
    assert "troly_gateway_turn_seconds_total" not in names  # a histogram has no _total: a typo must be caught


def test_the_panels_the_operators_asked_for_are_there() -> None:
    exprs = " ".join(expressions(json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]))
    for wanted in ("histogram_quantile(0.5", "histogram_quantile(0.95", 'kind="answer"', 'kind="clarify"',
                   'kind="out_of_scope"', "troly_handoffs_unclaimed", "troly_stream_lag", "troly_zalo_oa_quota_left",
                   "troly_redis_errors_total"):
        assert wanted in exprs
