"""Prometheus metrics of one service process.

Each service builds its own registry so that several services can live in one test process.
Metric names are the contract with deploy/prometheus and deploy/grafana: change them together.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class BusMetrics:
    """Delivery metrics: what the operations team watches to know no event is stuck."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events_consumed = Counter(
            "shian_events_consumed_total",
            "Events taken from a stream by this service's consumer group, by outcome "
            "(applied, parked, duplicate, ignored, failed, deadlettered).",
            ["service", "stream", "event_type", "outcome"],
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "shian_consumer_batch_seconds",
            "Time to apply one batch in one database transaction, ack included.",
            ["service", "stream"],
            registry=registry,
            buckets=DELAY_BUCKETS,
        )
        self.processing_delay = Histogram(
            "shian_event_processing_delay_seconds",
            "Delay from an event's occurred_at to its commit in this service (event-to-projection).",
            ["service", "stream"],
            registry=registry,
            buckets=DELAY_BUCKETS,
        )
        self.consumer_lag = Gauge(
            "shian_consumer_lag",
            "Entries in the stream not yet delivered to this service's group.",
            ["service", "stream"],
            registry=registry,
        )
        self.consumer_pending = Gauge(
            "shian_consumer_pending",
            "Entries delivered to this service's group and not yet acknowledged.",
            ["service", "stream"],
            registry=registry,
        )
        self.deadletters = Counter(
            "shian_deadletters_total",
            "Entries moved to the dead-letter stream after failing too often or being unreadable.",
            ["service", "stream"],
            registry=registry,
        )
        self.reclaimed = Counter(
            "shian_events_reclaimed_total",
            "Pending entries reclaimed from a consumer that stopped acknowledging (XAUTOCLAIM).",
            ["service", "stream"],
            registry=registry,
        )
        self.outbox_backlog = Gauge(
            "shian_outbox_backlog",
            "Outbox rows written but not yet published to Redis.",
            ["service"],
            registry=registry,
        )
        self.outbox_oldest_age = Gauge(
            "shian_outbox_oldest_age_seconds",
            "Age of the oldest unpublished outbox row (0 when the outbox is empty).",
            ["service"],
            registry=registry,
        )
        self.outbox_published = Counter(
            "shian_outbox_published_total",
            "Outbox rows published to Redis.",
            ["service"],
            registry=registry,
        )
        self.events_parked = Gauge(
            "shian_events_parked",
            "Events held back because a record they need has not arrived yet (parked_events).",
            ["service"],
            registry=registry,
        )
        self.events_parked_oldest_age = Gauge(
            "shian_events_parked_oldest_age_seconds",
            "Age of the oldest parked event (0 when none is parked).",
            ["service"],
            registry=registry,
        )
        self.bus_errors = Counter(
            "shian_bus_errors_total",
            "Errors talking to Redis (connection lost, group recreated, publish failed).",
            ["service", "kind"],
            registry=registry,
        )


HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class HttpMetrics:
    """Requests answered by a service's API: throughput, latency and the error rate alerts watch.

    `route` is the path template (`/incidents/{incident_id}`), never the raw path, so that ids do
    not multiply the series; requests that match no route count as `unmatched`.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "shian_http_requests_total",
            "HTTP requests answered, by route template, method and status code.",
            ["service", "method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "shian_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["service", "method", "route"],
            registry=registry,
            buckets=HTTP_BUCKETS,
        )
        self.shed = Counter(
            "shian_http_shed_total",
            "Requests refused without being served: 503 when the line was full or the wait too long "
            "(reason queue_full, queue_timeout) or the database unavailable (database); 429 when the "
            "caller sent too many (rate_limited).",
            ["service", "reason"],
            registry=registry,
        )
        self.in_flight = Gauge(
            "shian_http_requests_in_flight",
            "Requests being served or waiting for a slot.",
            ["service"],
            registry=registry,
        )
