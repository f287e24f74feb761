"""The channels a county office configures (its DingTalk and WeCom robots, its SMS accounts, its
webhooks), kept in the alerts database so an office changes them through the API and never in a
file; and the book that turns a step's channel name into an adapter at delivery time.

A step names its channels (`"channels": ["dongshan-dingtalk", "sms"]`); a name is looked up
first among the channels of the deployment's settings (`log`, and `webhook`/`sms` when set), then
among the county's own. Credentials are stored as given and never shown back in full.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlmodel import Session, col, select

from services.alerts.config import AlertsConfig
from services.alerts.notifications.channels import Channel, LogChannel, SmsChannel, WebhookChannel
from services.alerts.notifications.models import (
    REQUIRED_SECRETS,
    ROBOT_KINDS,
    ChannelBody,
    ChannelRead,
    ChannelSetup,
)
from services.alerts.notifications.providers.aliyun import AliyunSms
from services.alerts.notifications.providers.dingtalk import DingTalkRobot
from services.alerts.notifications.providers.tencent import TencentSms
from services.alerts.notifications.providers.wecom import WeComRobot
from shared import changes
from shared.auth import Principal, Role
from shared.clock import Clock
from shared.errors import Conflict, Invalid, NotFound

BUILTIN = ("log", "webhook", "sms")
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def mask(secret: str) -> str:
    """Enough to recognise which key is set, never enough to use it."""
    return "****" + secret[-4:] if len(secret) >= 12 else "****"


def read(setup: ChannelSetup) -> ChannelRead:
    return ChannelRead(
        county_id=setup.county_id,
        name=setup.name,
        kind=setup.kind,
        options=setup.options,
        secrets={name: mask(value) for name, value in setup.secrets.items()},
        version=setup.version,
        updated_by=setup.updated_by,
        updated_at=setup.updated_at,
    )


def list_channels(session: Session, principal: Principal) -> list[ChannelSetup]:
    principal.ensure_role(Role.county)
    return list(
        session.exec(
            select(ChannelSetup)
            .where(col(ChannelSetup.county_id) == principal.county_id)
            .order_by(col(ChannelSetup.name))
        ).all()
    )


def get_channel(session: Session, principal: Principal, name: str) -> ChannelSetup:
    principal.ensure_role(Role.county)
    setup = session.get(ChannelSetup, (principal.county_id, name))
    if setup is None:
        raise NotFound()
    return setup


def put_channel(
    *,
    session: Session,
    principal: Principal,
    name: str,
    body: ChannelBody,
    clock: Clock,
    config: AlertsConfig,
) -> ChannelSetup:
    """Create or change a county's channel; secrets left out are kept from the stored ones."""
    principal.ensure_role(Role.county)
    if not NAME.match(name):
        raise Invalid(
            "name", "lower-case letters, digits, - and _, up to 40, starting with a letter or digit"
        )
    if name in BUILTIN:
        raise Invalid("name", f"{name} is a channel of the deployment's settings")
    url = body.url
    if url is not None and config.env == "production" and not url.startswith("https://"):
        raise Invalid("url", "an https URL in production")
    if url is not None and body.kind in ROBOT_KINDS and "?" in url:
        raise Invalid("url", "without a query: the robot's token or key goes in its own field, kept secret")
    setup = session.get(ChannelSetup, (principal.county_id, name))
    if setup is not None and setup.kind != body.kind:
        raise Conflict("kind", f"{name} is a {setup.kind} channel; delete it to make it another kind")
    secret_names = type(body).SECRETS
    given = {field: getattr(body, field) for field in secret_names if getattr(body, field) is not None}
    secrets = {**(setup.secrets if setup else {}), **given}
    missing = [field for field in REQUIRED_SECRETS[body.kind] if field not in secrets]
    if missing:
        raise Invalid(missing[0], "required when the channel is created")
    options = body.model_dump(mode="json", exclude=set(secret_names) | {"kind"}, exclude_none=True)
    now = clock.now()
    if setup is None:
        setup = ChannelSetup(
            county_id=principal.county_id,
            name=name,
            kind=body.kind,
            options=options,
            secrets=secrets,
            updated_by=principal.actor,
            updated_at=now,
        )
    else:
        setup.options = options
        setup.secrets = secrets
        setup.version += 1
        setup.updated_by = principal.actor
        setup.updated_at = now
    session.add(setup)
    session.flush()
    changes.record(
        session,
        setup,
        actor=principal.actor,
        action="notification_channel.configured",
        detail={
            "kind": setup.kind,
            "options": options,
            "secrets_changed": sorted(given),
            "version": setup.version,
        },
        occurred_at=now,
    )
    session.commit()
    return setup


def delete_channel(*, session: Session, principal: Principal, name: str, clock: Clock) -> None:
    setup = get_channel(session, principal, name)
    changes.record(
        session,
        setup,
        actor=principal.actor,
        action="notification_channel.deleted",
        detail={"kind": setup.kind},
        occurred_at=clock.now(),
    )
    session.delete(setup)
    session.commit()


def build(setup: ChannelSetup, common: Mapping[str, Any]) -> Channel:
    """The adapter for a configured channel."""
    options = dict(setup.options)
    options.pop("reply_secret", None)
    url = {"url": options.pop("url")} if options.get("url") else {}
    secrets = setup.secrets
    if setup.kind == "dingtalk":
        return DingTalkRobot(access_token=secrets["access_token"], secret=secrets["secret"], **url, **common)
    if setup.kind == "wecom":
        return WeComRobot(key=secrets["key"], **url, **common)
    if setup.kind == "aliyun_sms":
        return AliyunSms(access_key_secret=secrets["access_key_secret"], **options, **url, **common)
    if setup.kind == "tencent_sms":
        return TencentSms(secret_key=secrets["secret_key"], **options, **url, **common)
    return WebhookChannel(secret=secrets["secret"], **url, **common)


class ChannelBook:
    """Channel names to adapters: the deployment's own, then each county's, built once per
    version of their configuration (a changed secret takes effect at the next delivery)."""

    def __init__(self, builtin: dict[str, Channel], common: Mapping[str, Any]) -> None:
        self.builtin = builtin
        self.common = dict(common)
        self._built: dict[tuple[str, str], tuple[int, Channel]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, county_id: str, name: str) -> Channel | None:
        if name in self.builtin:
            return self.builtin[name]
        setup = session.get(ChannelSetup, (county_id, name))
        if setup is None:
            return None
        with self._lock:
            built = self._built.get((county_id, name))
            if built is None or built[0] != setup.version:
                built = (setup.version, build(setup, self.common))
                self._built[(county_id, name)] = built
        return built[1]


def kinds_of(session: Session, county_id: str, names: Iterable[str]) -> dict[str, str]:
    """Each name's kind (`log`, `webhook`, `sms` for the deployment's); unknown names are absent."""
    names = list(names)
    found = {name: name for name in names if name in BUILTIN}
    rest = [name for name in names if name not in BUILTIN]
    if rest:
        for setup in session.exec(
            select(ChannelSetup).where(
                col(ChannelSetup.county_id) == county_id, col(ChannelSetup.name).in_(rest)
            )
        ).all():
            found[setup.name] = setup.kind
    return found


def build_book(config: AlertsConfig, *, sleep: Callable[[float], None] = time.sleep) -> ChannelBook:
    """The deployment's channels from its settings (`log` always), and the county channels' options."""
    common: dict[str, Any] = {
        "timeout": config.webhook_timeout_seconds,
        "max_attempts": config.webhook_max_attempts,
        "backoff_seconds": config.webhook_backoff_seconds,
        "sleep": sleep,
    }
    builtin: dict[str, Channel] = {"log": LogChannel()}
    if config.webhook_url and config.webhook_secret:
        builtin["webhook"] = WebhookChannel(url=config.webhook_url, secret=config.webhook_secret, **common)
    if config.sms_url:
        builtin["sms"] = SmsChannel(
            url=config.sms_url, template=config.sms_template, token=config.sms_token, **common
        )
    return ChannelBook(builtin, common)
