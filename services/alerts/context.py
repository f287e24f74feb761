"""What the alerts service wires once per process (bootstrap): its settings, its notification
channels, its metrics, and the escalator that HTTP handlers, event handlers and loops share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from services.alerts.config import AlertsConfig
from services.alerts.escalation.service import Escalator
from services.alerts.metrics import AlertsMetrics
from services.alerts.notifications.channels import Channel


@dataclass
class AlertsContext:
    config: AlertsConfig
    channels: dict[str, Channel] = field(default_factory=dict)
    metrics: AlertsMetrics | None = None

    @property
    def escalator(self) -> Escalator:
        return Escalator(default_channels=tuple(self.config.default_channels), metrics=self.metrics)


def get_context(request: Request) -> AlertsContext:
    return request.app.state.alerts


def get_escalator(request: Request) -> Escalator:
    return get_context(request).escalator


EscalatorDep = Annotated[Escalator, Depends(get_escalator)]
