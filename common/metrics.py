"""Prometheus metrics every process exposes on `/metrics`: the metric objects, one class per process, and helpers.

Each process builds its own `CollectorRegistry` (never the global one, so two apps in one test process or one
gateway replica never collide) holding one of `ActionMetrics`, `GatewayMetrics` or `DashboardMetrics`. Labels hold
only bounded, non-personal values: a channel, a reply kind, an action name, a route template, a stream name. Never a
conversation id, a resident's words or a ticket id.

Values that live in Redis (open handoffs, stream lag, Zalo's quota) are read at scrape time by the gateway (async)
and handed to a `Snapshot`, which serves only what this scrape read: when Redis is down the gauge is left out and a
Redis error is counted, and the scrape still answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE", "ActionMetrics", "CollectorRegistry", "DashboardMetrics", "GatewayMetrics", "Snapshot",
           "is_redis_error", "metric_names", "render",
           "value"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: a resident's turn goes through Rasa and the action server (retrieval), usually 0.1–3 s; 30 s is the
# gateway's Rasa timeout.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0)
# A dashboard page reads Redis streams: fast, but a year of data can take seconds.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def is_redis_error(exc: BaseException) -> bool:
    """True when an exception came from Redis (a connection, a timeout, a refused command)."""
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - every app process has redis installed
        return False
    return isinstance(exc, RedisError)


def render(registry: CollectorRegistry) -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest(registry)


def metric_names(registry: CollectorRegistry) -> set[str]:
    """Every series name a scrape of `registry` can show (`_total`, `_bucket`, `_sum`, `_count` included)."""
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
                    "gauge": ("",)}.get(family.type, ("",))
        names.update(family.name + suffix for suffix in suffixes)
        names.update(sample.name for sample in family.samples)
    return names


def _redis_errors(registry: CollectorRegistry) -> Counter:
    return Counter("troly_redis_errors", "Redis commands that failed, by the part of the process that sent them",
                   ["component"], registry=registry)


class ActionMetrics:
    """The action server's: actions run and how long they took, replies by kind, Redis errors."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.turns = Counter("troly_action_turns", "Action calls Rasa made to the action server, by outcome",
                             ["outcome"], registry=self.registry)
        self.replies = Counter("troly_action_replies", "Replies recorded by kind (answer, clarify, out_of_scope, "
                               "walkthrough, handoff, …)", ["kind"], registry=self.registry)
        self.latency = Histogram("troly_action_seconds", "Time to run one action, by action name", ["action"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.redis_errors = _redis_errors(self.registry)

    def reply(self, kind: str) -> None:
        """Count one reply of a kind."""
        self.replies.labels(kind=kind).inc()

    def redis_error(self, component: str = "actions") -> None:
        """Count one failed Redis command."""
        self.redis_errors.labels(component=component).inc()


class Snapshot(Collector):
    """Gauges read from Redis at scrape time: each family shows only the samples this scrape could read."""

    def __init__(self, families: dict[str, tuple[str, list[str]]]) -> None:
        self.families = families  # name → (help, label names)
        self.values: dict[str, list[tuple[tuple[str, ...], float]]] = {}

    def set(self, name: str, samples: Iterable[tuple[tuple[str, ...], float]]) -> None:
        """Replace one gauge's samples (labels in the family's order)."""
        if name not in self.families:
            raise KeyError(f"unknown snapshot gauge {name}")
        self.values[name] = list(samples)

    def skip(self, name: str) -> None:
        """Leave a gauge out of this scrape: its source could not be read (a stale value would mislead)."""
        self.values.pop(name, None)

    def collect(self) -> Iterator[Metric]:
        for name, (documentation, labels) in self.families.items():
            family = GaugeMetricFamily(name, documentation, labels=labels)
            for label_values, value in self.values.get(name, []):
                family.add_metric(list(label_values), value)
            yield family


class GatewayMetrics:
    """A gateway's: resident messages in, replies out, turn latency, Rasa trouble, plus the scrape-time gauges."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.messages_in = Counter("troly_gateway_messages_in", "Resident messages received, by channel", ["channel"],
                                   registry=self.registry)
        self.replies_out = Counter("troly_gateway_replies_out", "Replies delivered to residents, by channel",
                                   ["channel"], registry=self.registry)
        self.turn_seconds = Histogram("troly_gateway_turn_seconds", "From a resident message's arrival to its replies "
                                      "delivered (or queued), by channel", ["channel"], buckets=LATENCY_BUCKETS,
                                      registry=self.registry)
        self.rasa_errors = Counter("troly_gateway_rasa_errors", "Rasa calls that failed: unavailable (held for "
                                   "retry), rejected or failed (set aside)", ["channel", "error"],
                                   registry=self.registry)
        self.held = Counter("troly_gateway_held_messages", "Resident messages held because Rasa was away",
                            ["channel"], registry=self.registry)
        self.redis_errors = _redis_errors(self.registry)
        self.snapshot = Snapshot({
            "troly_handoffs_open": ("Handoff tickets open now (all channels)", []),
            "troly_handoffs_unclaimed": ("Open handoff tickets no volunteer has claimed yet", []),
            "troly_stream_lag": ("Entries of a stream not yet delivered to its consumer group", ["stream", "group"]),
            "troly_stream_pending": ("Entries delivered to a consumer group but not yet acknowledged",
                                     ["stream", "group"]),
            "troly_zalo_oa_quota_left": ("Messages left in the quota Zalo last reported, by quota type",
                                         ["quota_type"]),
        })
        self.registry.register(self.snapshot)

    @contextmanager
    def turn(self, channel: str) -> Iterator[None]:
        """Count a resident message and time it until its replies are out (also when handling it fails)."""
        self.messages_in.labels(channel=channel).inc()
        started = time.perf_counter()
        try:
            yield
        finally:
            self.turn_seconds.labels(channel=channel).observe(time.perf_counter() - started)

    def redis_error(self, component: str = "gateway") -> None:
        """Count one failed Redis command."""
        self.redis_errors.labels(component=component).inc()


class DashboardMetrics:
    """The dashboard's: HTTP requests by route template and status, their latency, Redis errors."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter("troly_dashboard_requests", "HTTP requests, by route template, method and status",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("troly_dashboard_request_seconds", "HTTP request latency, by route template",
                                 ["route"], buckets=HTTP_BUCKETS, registry=self.registry)
        self.redis_errors = _redis_errors(self.registry)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request."""
        method = method if method in HTTP_METHODS else "other"  # any string can be sent as a method
        self.requests.labels(route=route, method=method, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def redis_error(self, component: str = "dashboard") -> None:
        """Count one failed Redis command."""
        self.redis_errors.labels(component=component).inc()


def value(text: str, name: str, **labels: Any) -> float | None:
    """One sample's value in a scraped /metrics text, or None when absent."""
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {k: str(v) for k, v in labels.items()}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == wanted:
                return float(sample.value)
    return None
