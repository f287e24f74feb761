"""What the alerts service wires once per process (bootstrap): its settings, its notification
channels, its links, its metrics, and the escalator and delivery that HTTP handlers, event
handlers and loops share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from services.alerts.config import AlertsConfig
from services.alerts.escalation.service import Escalator
from services.alerts.links.tokens import LinkSettings
from services.alerts.metrics import AlertsMetrics
from services.alerts.notifications.service import LEASE, Delivery
from services.alerts.notifications.setup import ChannelBook
from services.alerts.signals import service as signals


@dataclass
class AlertsContext:
    config: AlertsConfig
    channels: ChannelBook
    links: LinkSettings | None = None
    metrics: AlertsMetrics | None = None

    @property
    def escalator(self) -> Escalator:
        return Escalator(
            default_channels=tuple(self.config.default_channels), metrics=self.metrics, links=self.links
        )

    @property
    def delivery(self) -> Delivery:
        return Delivery(
            book=self.channels,
            links=self.links,
            metrics=self.metrics,
            retry_seconds=self.config.retry_seconds,
            retry_max_seconds=self.config.retry_max_seconds,
            alert_retry_window=timedelta(hours=self.config.alert_retry_hours),
            on_undeliverable=signals.on_undeliverable,
            lease=max(LEASE, self.config.longest_send() + timedelta(minutes=1)),
        )


def get_context(request: Request) -> AlertsContext:
    return request.app.state.alerts


def get_escalator(request: Request) -> Escalator:
    return get_context(request).escalator


EscalatorDep = Annotated[Escalator, Depends(get_escalator)]
ContextDep = Annotated[AlertsContext, Depends(get_context)]
