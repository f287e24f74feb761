"""The township office's register: what goes to the registry, and what the pages need from it.

Plain functions over the client, so the views stay thin. The registry scopes every answer to the
office's own township (another township's business is a 404 there, and so here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.web.client import ServiceClient
from services.web.forms import Form
from services.web.labels import VOCABULARIES
from services.web.session import WebSession

PAGE_SIZE = 20
# the register's filters: the query parameter, and the vocabulary its values must come from
FILTERS = {
    "kind": "business_kind",
    "status": "business_status",
    "risk_level": "risk_level",
    "licence_state": "licence_state",
}
MAX_QUERY = 100

BUSINESS_FIELDS = (
    "name",
    "kind",
    "village_id",
    "operator",
    "address",
    "bl_number",
    "bl_issued_on",
    "bl_expires_on",
    "fp_number",
    "fp_issued_on",
    "fp_expires_on",
)
EDIT_FIELDS = ("name", "kind", "village_id", "operator", "address")
BUSINESS_LABELS = {
    "name": "名称",
    "kind": "类别",
    "village_id": "所在村",
    "operator": "经营者",
    "address": "地址",
    "bl_number": "营业执照号",
    "bl_issued_on": "营业执照发证日期",
    "bl_expires_on": "营业执照有效期至",
    "fp_number": "食品经营许可证号",
    "fp_issued_on": "许可证发证日期",
    "fp_expires_on": "许可证有效期至",
    "Idempotency-Key": "提交",
}
# the registry's field names, mapped to the form's
BUSINESS_SERVICE_FIELDS = {
    "name": "name",
    "kind": "kind",
    "village_id": "village_id",
    "operator": "operator",
    "address": "address",
    "business_licence.number": "bl_number",
    "business_licence.issued_on": "bl_issued_on",
    "business_licence.expires_on": "bl_expires_on",
    "business_licence": "bl_number",
    "food_permit.number": "fp_number",
    "food_permit.issued_on": "fp_issued_on",
    "food_permit.expires_on": "fp_expires_on",
    "food_permit": "fp_number",
}
LICENCES = (("business_licence", "bl"), ("food_permit", "fp"))


@dataclass(frozen=True)
class Register:
    """One page of the register, with what it was asked for (to keep the filters on screen)."""

    items: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    query: dict[str, str]

    def link(self, page: int) -> str:
        """The address of another page with the same filters."""
        from urllib.parse import urlencode

        return "?" + urlencode({**{k: v for k, v in self.query.items() if v}, "page": page})


def register_query(params: Any, villages: dict[str, str]) -> dict[str, str]:
    """The register's filters from the address bar, each kept only if it is one the registry knows
    (a hand-edited address shows the whole register rather than an error)."""
    query = {"q": str(params.get("q", "")).strip()[:MAX_QUERY]}
    village = str(params.get("village_id", ""))
    query["village_id"] = village if village in villages else ""
    for name, vocabulary in FILTERS.items():
        value = str(params.get(name, ""))
        query[name] = value if value in VOCABULARIES[vocabulary] else ""
    return query


def page_number(value: str | None) -> int:
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), 10_000)


async def villages(client: ServiceClient, session: WebSession) -> dict[str, str]:
    """The office's villages, id to name, in the registry's order."""
    places = await client.get(session, "registry", "/places")
    township = session.user.township_id
    return {
        str(place["id"]): str(place["name"])
        for place in places
        if place.get("level") == "village" and (township is None or place.get("township_id") == township)
    }


async def register(client: ServiceClient, session: WebSession, query: dict[str, str], page: int) -> Register:
    answer = await client.get(
        session,
        "registry",
        "/businesses",
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        **{name: value for name, value in query.items() if value},
    )
    total = int(answer.get("total", 0))
    pages = max(1, math.ceil(total / PAGE_SIZE))
    return Register(items=answer.get("items", []), total=total, page=page, pages=pages, query=query)


async def business(client: ServiceClient, session: WebSession, business_id: str) -> dict[str, Any]:
    """A business with its licences, its food handlers (and their certificates), its grades."""
    found: dict[str, Any] = await client.get(session, "registry", f"/businesses/{business_id}")
    found["staff"] = await client.get(session, "registry", f"/businesses/{business_id}/staff")
    found["grades"] = await client.get(session, "registry", f"/businesses/{business_id}/grades")
    return found


def _day(form: Form, name: str) -> str | None:
    text = form.get(name)
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        form.error(name, "日期格式不对")
        return None


def _licence(form: Form, prefix: str) -> dict[str, Any] | None:
    """A licence from its three fields: all empty is no licence; a number needs both dates."""
    number = form.get(f"{prefix}_number")
    issued = _day(form, f"{prefix}_issued_on")
    expires = _day(form, f"{prefix}_expires_on")
    if not number and not form.get(f"{prefix}_issued_on") and not form.get(f"{prefix}_expires_on"):
        return None
    if not number:
        form.error(f"{prefix}_number", "填了日期就要填证号")
    if not form.get(f"{prefix}_issued_on"):
        form.error(f"{prefix}_issued_on", "必须填写")
    if not form.get(f"{prefix}_expires_on"):
        form.error(f"{prefix}_expires_on", "必须填写")
    if issued and expires and expires < issued:
        form.error(f"{prefix}_expires_on", "不能早于发证日期")
    return {"number": number, "issued_on": issued, "expires_on": expires}


def _particulars(form: Form, villages: dict[str, str]) -> None:
    form.required("name", "kind", "village_id")
    if form.get("kind") and form.get("kind") not in VOCABULARIES["business_kind"]:
        form.error("kind", "请从选项中选择")
    if form.get("village_id") and form.get("village_id") not in villages:
        form.error("village_id", "不在您负责的范围内")
    for name, most in (("name", 200), ("operator", 120), ("address", 300)):
        if len(form.get(name)) > most:
            form.error(name, f"太长了，最多 {most} 个字")


def business_body(form: Form, villages: dict[str, str]) -> dict[str, Any] | None:
    """The registry's request to register a business, or None with the form's errors set."""
    _particulars(form, villages)
    licences = {kind: _licence(form, prefix) for kind, prefix in LICENCES}
    if not form.ok:
        return None
    body: dict[str, Any] = {
        "name": form.get("name"),
        "kind": form.get("kind"),
        "village_id": form.get("village_id"),
        "operator": form.get("operator") or None,
        "address": form.get("address") or None,
    }
    body.update({kind: licence for kind, licence in licences.items() if licence is not None})
    return body


def update_body(form: Form, villages: dict[str, str], current: dict[str, Any]) -> dict[str, Any] | None:
    """The registry's correction: only what changed (the registry refuses an empty one)."""
    _particulars(form, villages)
    if not form.ok:
        return None
    changed: dict[str, Any] = {}
    for name in EDIT_FIELDS:
        value = form.get(name) or None
        if value != (current.get(name) or None):
            changed[name] = value
    return changed


def edit_form(business: dict[str, Any]) -> Form:
    return Form(values={name: str(business.get(name) or "") for name in EDIT_FIELDS})
