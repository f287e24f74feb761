"""The console's pieces without a system: which consoles an event may concern, the bounds on
connections, what the fan-out takes from the stream, and the words for retry states and times."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.web.incidents import live, service
from services.web.session import User
from shared.events import Envelope


def user(role: str, township: str | None = "qingyun.dongshan", account: str = "a1") -> User:
    return User(account_id=account, name="x", role=role, county_id="qingyun", township_id=township)


def change(township: str | None = "qingyun.dongshan", county: str = "qingyun") -> live.Change:
    return live.Change(position="1-0", incident_id="i1", county_id=county, township_id=township)


def test_an_event_of_another_township_or_county_concerns_no_console_of_theirs() -> None:
    dongshan = live.Subscriber("s", user("township"), None)
    xishui = live.Subscriber("s", user("township", "qingyun.xishui"), None)
    county = live.Subscriber("s", user("county", None), None)
    assert dongshan.may_concern(change())
    assert not xishui.may_concern(change())
    assert county.may_concern(change()) and county.may_concern(change("qingyun.xishui"))
    assert not county.may_concern(change(county="another"))
    # an incident's page hears only of its incident
    assert not live.Subscriber("s", user("county", None), "i2").may_concern(change())


def test_connections_are_bounded_per_process_and_per_user() -> None:
    config = live.LiveConfig(max_connections=3, max_per_user=2)
    hub = live.Hub(client=None, store=None, config=config)  # type: ignore[arg-type]
    first, second = live.Subscriber("1", user("county"), None), live.Subscriber("2", user("county"), None)
    hub.add(first)
    hub.add(second)
    with pytest.raises(live.TooMany, match="user"):
        hub.add(live.Subscriber("3", user("county"), None))
    hub.add(live.Subscriber("4", user("county", account="a2"), None))
    with pytest.raises(live.TooMany, match="process"):
        hub.add(live.Subscriber("5", user("county", account="a3"), None))
    hub.remove(first)
    hub.add(live.Subscriber("6", user("county"), None))


def envelope(kind: str, age: timedelta = timedelta(0), incident: str | None = None) -> Envelope:
    payload = {"incident_id": incident or str(uuid.uuid4())}
    return Envelope(
        type=kind,
        county_id="qingyun",
        township_id="qingyun.dongshan",
        actor="x",
        payload=payload,
        occurred_at=datetime.now(UTC) - age,
    )


def test_the_fan_out_takes_incident_events_only_and_only_recent_ones() -> None:
    loop = asyncio.new_event_loop()
    try:
        hub = live.Hub(client=None, store=None, config=live.LiveConfig())  # type: ignore[arg-type]
        fan = live.FanOut(hub, loop, timedelta(minutes=10))
        events = [
            envelope("incident.reported"),
            envelope("alert.escalated"),  # the deprecated twin: skipped
            envelope("alert.raised"),
            envelope("incident.closed", age=timedelta(hours=1)),  # history after a flush
        ]
        fan.positions = {str(events[0].event_id): "5-0"}
        result = fan.process(events)
        assert [result.outcomes[str(e.event_id)] for e in events] == [
            "applied",
            "ignored",
            "ignored",
            "ignored",
        ]
        loop.run_until_complete(asyncio.sleep(0))
        taken = hub.changes.get_nowait()
        assert [(c.position, c.incident_id) for c in taken] == [("5-0", events[0].payload["incident_id"])]
    finally:
        loop.close()


def test_a_full_queue_marks_the_console_for_a_reload_instead_of_blocking() -> None:
    subscriber = live.Subscriber("s", user("county"), None)
    for _ in range(live.QUEUE_SIZE + 1):
        subscriber.offer("x")
    assert subscriber.overflowed


def test_an_event_is_one_sse_message_whatever_its_text() -> None:
    message = live.sse("incident", {"html": "<li>\n第一行\n\n第二行</li>"}, "12-3")
    assert message.startswith("id: 12-3\nevent: incident\ndata: ")
    assert message.endswith("\n\n") and message.count("\n") == 4  # no blank line inside


@pytest.mark.parametrize(
    ("status", "attempts", "state", "words"),
    [
        ("pending", 0, "pending", "待发送"),
        ("pending", 2, "failed", "发送失败，等待重试"),
        ("delivered", 1, "sent", "已发送"),
        ("undeliverable", 1, "undeliverable", "无法送达"),
        ("cancelled", 3, "cancelled", "已停止重试"),
    ],
)
def test_each_notification_says_its_retry_state_in_chinese(
    status: str, attempts: int, state: str, words: str
) -> None:
    from services.web.labels import zh

    shown = service.notification(
        {
            "status": status,
            "attempts": attempts,
            "channel": "log",
            "target": "phone:+8613800000001",
            "kind": "reminder",
            "last_error": "acknowledged by township:x",
            "attempt_log": [{"number": 1, "ok": False, "status_code": 500}],
        }
    )
    assert shown["state"] == state and zh(state, "retry_state") == words
    assert shown["target"] == "手机 138****0001" and shown["channel"] == "系统记录"
    assert shown["attempts"][0]["outcome"] == "失败（HTTP 500）"
    assert shown["stopped"] == ("事件已被确认" if state == "cancelled" else "")


def test_ages_and_countdowns_read_as_the_page_ticks_them() -> None:
    assert service.elapsed_text(59) == "0分"
    assert service.elapsed_text(3 * 3600 + 5 * 60) == "3小时5分"
    assert service.elapsed_text(26 * 3600) == "1天2小时"
    assert service.left_text(3909) == "还剩 01:05:09"
    assert service.left_text(-190) == "已超时 00:03:10"
