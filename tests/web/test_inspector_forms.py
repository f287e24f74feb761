"""The inspector's pages against wrong hands and bad input, over HTTP as a browser sends it (no
JavaScript): other roles and other townships' businesses are refused, a checklist the service
refuses comes back with the field named in Chinese and what was ticked kept, a burst of the same
submission records once, and nothing is half written."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.web import (
    COUNTY,
    DEMO_PASSWORD,
    DONGSHAN_INSPECTOR,
    SHANGCUN_COORDINATOR,
    WebSystem,
    csrf_of,
    http_signed_in,
)

pytestmark = pytest.mark.e2e
KEY_ITEMS = re.compile(r'<fieldset class="item-check key">\s*<legend>.*?</span> (\S+) ', re.S)
ITEM = re.compile(r'name="r-([^"]+)" value="pass"')


def token(web_system: WebSystem, mobile: str) -> str:
    answer = httpx.post(
        f"{web_system.urls['identity']}/sessions", json={"mobile": mobile, "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["access_token"])


def businesses(web_system: WebSystem, township: str) -> list[dict[str, Any]]:
    answer = httpx.get(
        f"{web_system.urls['registry']}/businesses",
        params={"limit": 200},
        headers={"Authorization": f"Bearer {token(web_system, COUNTY)}"},
    )
    assert answer.status_code == 200, answer.text
    return [
        item
        for item in answer.json()["items"]
        if item["township_id"] == township and item["status"] == "active"
    ]


def inspections_of(web_system: WebSystem, business_id: str) -> int:
    answer = httpx.get(
        f"{web_system.urls['inspection']}/inspections",
        params={"business_id": business_id},
        headers={"Authorization": f"Bearer {token(web_system, DONGSHAN_INSPECTOR)}"},
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["total"])


@pytest.fixture(scope="module")
def inspector(web_system: WebSystem) -> httpx.Client:
    client = http_signed_in(web_system.url, DONGSHAN_INSPECTOR)
    yield client
    client.close()


def checklist_form(
    inspector: httpx.Client, business_id: str, *, fail: int = 0
) -> tuple[dict[str, str], list[str]]:
    """The checklist page's form as a browser would post it: every item passes but the first
    `fail` key items."""
    page = inspector.get(f"/inspector/businesses/{business_id}/inspect")
    assert page.status_code == 200, page.text[:300]
    html = page.text
    codes = ITEM.findall(html)
    failing = KEY_ITEMS.findall(html)[:fail]
    data = {
        "csrf_token": csrf_of(html),
        "idempotency_key": re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1),
        "kind": "routine",
        "inspectors": "王强、陈静",
        "notes": "后厨<script>alert(1)</script>",
        "complaint_id": "",
    }
    for code in codes:
        data[f"r-{code}"] = "fail" if code in failing else "pass"
    return data, codes


def test_other_roles_and_other_townships_are_refused(web_system: WebSystem, inspector: httpx.Client) -> None:
    coordinator = http_signed_in(web_system.url, SHANGCUN_COORDINATOR)
    try:
        refused = coordinator.get("/inspector")
        assert refused.status_code == 403 and "您没有权限做这件事" in refused.text
    finally:
        coordinator.close()
    # and the inspector, landing on the worklist, has no village coordinator's pages
    assert inspector.get("/").headers.get("location") == "/inspector"
    assert inspector.get("/village/incidents/new").status_code == 403
    elsewhere = businesses(web_system, "qingyun.xishui")[0]["id"]
    for path in (f"/inspector/businesses/{elsewhere}", f"/inspector/businesses/{elsewhere}/inspect"):
        assert inspector.get(path).status_code == 404, path
    assert inspector.get("/inspector/businesses/..%2F..%2Fadmin").status_code == 404
    assert inspector.get(f"/inspector/inspections/{uuid.uuid4()}").status_code == 404
    home = businesses(web_system, "qingyun.dongshan")[0]["id"]
    data, _ = checklist_form(inspector, home)
    before = inspections_of(web_system, elsewhere)
    answer = inspector.post(f"/inspector/businesses/{elsewhere}/inspections", data=data)
    assert answer.status_code in (404, 422)
    assert inspections_of(web_system, elsewhere) == before


def test_a_refused_checklist_names_the_field_in_chinese_and_keeps_what_was_ticked(
    web_system: WebSystem, inspector: httpx.Client
) -> None:
    business = businesses(web_system, "qingyun.dongshan")[1]["id"]
    before = inspections_of(web_system, business)
    data, codes = checklist_form(inspector, business)
    for code in codes[3:]:
        del data[f"r-{code}"]
    data[f"r-{codes[0]}"] = "fail"
    data["inspectors"] = ""
    answer = inspector.post(f"/inspector/businesses/{business}/inspections", data=data)
    assert answer.status_code == 422
    assert "检查项目：已检查 3 项，本表至少要检查" in answer.text
    assert "检查人员：必须填写" in answer.text
    assert f'name="r-{codes[0]}" value="fail" checked' in answer.text
    assert "后厨&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text  # kept, and escaped
    assert "<script>alert(1)" not in answer.text
    assert inspections_of(web_system, business) == before

    # hostile values: a result that is no result, a key that is no key, a photo that is no photo
    data, codes = checklist_form(inspector, business)
    data[f"r-{codes[0]}"] = "maybe"
    data["idempotency_key"] = "键 with spaces"
    answer = inspector.post(
        f"/inspector/businesses/{business}/inspections",
        data=data,
        files={"photos": ("x.exe", b"MZ\x90\x00", "application/x-msdownload")},
    )
    assert answer.status_code == 422
    assert "现场照片：只能上传照片" in answer.text
    assert inspections_of(web_system, business) == before
    without_csrf = {name: value for name, value in data.items() if name != "csrf_token"}
    assert (
        inspector.post(f"/inspector/businesses/{business}/inspections", data=without_csrf).status_code == 403
    )


def test_a_burst_of_the_same_submission_records_one_inspection(
    web_system: WebSystem, inspector: httpx.Client
) -> None:
    business = businesses(web_system, "qingyun.dongshan")[2]["id"]
    before = inspections_of(web_system, business)
    data, _ = checklist_form(inspector, business, fail=1)

    def submit(_: int) -> httpx.Response:
        return inspector.post(f"/inspector/businesses/{business}/inspections", data=data)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(submit, range(6)))
    places = {answer.headers.get("location") for answer in answers}
    assert all(answer.status_code == 303 for answer in answers), [a.status_code for a in answers]
    assert len(places) == 1, places
    assert inspections_of(web_system, business) == before + 1
    record = inspector.get(places.pop())
    assert record.status_code == 200 and "书面限期整改" in record.text


def test_a_phone_sized_photo_is_kept_and_a_disguised_file_refused_before_anything_is_recorded(
    web_system: WebSystem, inspector: httpx.Client
) -> None:
    business = businesses(web_system, "qingyun.dongshan")[3]["id"]
    before = inspections_of(web_system, business)
    data, _ = checklist_form(inspector, business)
    disguised = ("photo.jpg", b"<html><script>alert(1)</script></html>", "image/jpeg")
    answer = inspector.post(
        f"/inspector/businesses/{business}/inspections", data=data, files={"photos": disguised}
    )
    assert answer.status_code == 422
    assert "现场照片：只能上传照片" in answer.text
    assert inspections_of(web_system, business) == before

    camera = b"\xff\xd8\xff\xe0" + bytes(3 * 1024 * 1024)  # a camera's JPEG is a few MB
    answer = inspector.post(
        f"/inspector/businesses/{business}/inspections",
        data=data,
        files={"photos": ("IMG_0001.jpg", camera, "image/jpeg")},
    )
    assert answer.status_code == 303, answer.text[:300]
    assert inspections_of(web_system, business) == before + 1
    record = httpx.get(
        f"{web_system.urls['inspection']}/inspections/{answer.headers['location'].split('/')[-1].split('?')[0]}",
        headers={"Authorization": f"Bearer {token(web_system, DONGSHAN_INSPECTOR)}"},
    ).json()
    assert [(photo["filename"], photo["size"]) for photo in record["attachments"]] == [
        ("IMG_0001.jpg", len(camera))
    ]


def test_the_verdict_fragment_waits_for_enough_items_and_takes_hostile_codes_calmly(
    web_system: WebSystem, inspector: httpx.Client
) -> None:
    business = businesses(web_system, "qingyun.dongshan")[0]["id"]
    data, codes = checklist_form(inspector, business, fail=1)
    headers = {"X-CSRF-Token": data["csrf_token"], "HX-Request": "true"}
    few = {name: value for name, value in data.items() if not name.startswith("r-")} | {
        f"r-{codes[0]}": "pass"
    }
    answer = inspector.post(f"/inspector/businesses/{business}/preview", data=few, headers=headers)
    assert answer.status_code == 200 and "达到本表的最少项数后" in answer.text
    full = inspector.post(f"/inspector/businesses/{business}/preview", data=data, headers=headers)
    assert full.status_code == 200 and "不符合的关键项" in full.text and "书面限期整改" in full.text
    hostile = data | {"r-<script>": "fail", "r-" + "9" * 30: "pass", "r-": "pass"}
    answer = inspector.post(f"/inspector/businesses/{business}/preview", data=hostile, headers=headers)
    assert answer.status_code == 200
    assert "<script>" not in answer.text
    assert "不符合的关键项" not in answer.text  # codes not in the checklist: no verdict
