"""Domain metrics of the alerts service (names are the contract with deploy/ dashboards and rules)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

RESPONSE_BUCKETS = (60, 300, 600, 1800, 3600, 7200, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400)


class AlertsMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.open_incidents = Gauge(
            "shian_incidents_open",
            "Incidents not yet closed, by level (recomputed every scheduler tick).",
            ["level"],
            registry=registry,
        )
        self.awaiting_acknowledgement = Gauge(
            "shian_incidents_awaiting_acknowledgement",
            "Open incidents whose current escalation step has not acknowledged, by level.",
            ["level"],
            registry=registry,
        )
        self.time_to_acknowledge = Histogram(
            "shian_incident_time_to_acknowledge_seconds",
            "From report to the first acknowledgement, per township and level.",
            ["township", "level"],
            registry=registry,
            buckets=RESPONSE_BUCKETS,
        )
        self.time_to_close = Histogram(
            "shian_incident_time_to_close_seconds",
            "From report to closing, per township and level.",
            ["township", "level"],
            registry=registry,
            buckets=RESPONSE_BUCKETS,
        )
        self.escalations = Counter(
            "shian_escalations_total",
            "Escalation steps notified, by tier and reason (reported, deadline, level_raised, ...).",
            ["tier", "reason"],
            registry=registry,
        )
        self.timer_lateness = Histogram(
            "shian_escalation_timer_lateness_seconds",
            "How long after its due time a durable timer fired (one scheduler tick at most when up).",
            registry=registry,
            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
        )
        self.last_tick = Gauge(
            "shian_escalation_last_tick_timestamp_seconds",
            "Unix time of the escalation scheduler's last completed tick (a stalled scheduler shows).",
            registry=registry,
        )
        self.timers_overdue = Gauge(
            "shian_escalation_timers_overdue",
            "Escalation timers past their due time and still not fired after the last tick.",
            registry=registry,
        )
        self.notifications = Counter(
            "shian_notifications_total",
            "Notifications finished, by channel and outcome (delivered, failed).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.notification_attempts = Counter(
            "shian_notification_attempts_total",
            "Delivery attempts, by channel and outcome (ok, error).",
            ["channel", "outcome"],
            registry=registry,
        )
        self.notifications_pending = Gauge(
            "shian_notifications_pending",
            "Notifications waiting for delivery.",
            registry=registry,
        )
        self.open_alerts = Gauge(
            "shian_alerts_open",
            "Alerts raised from other services' events and still open, by kind (suppressed excluded).",
            ["kind"],
            registry=registry,
        )
        self.alert_kinds_labelled: set[str] = set()  # the kinds `open_alerts` has a series for
