"""The half-year work summary (半年工作总结) as the township office writes it: the free-text
sections edited here and kept by the reporting service, the whole document previewed with every
figure filled in from the data, and downloaded as DOCX or PDF (streamed through, as the user)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from markupsafe import Markup

from services.web.client import ServiceClient
from services.web.forms import Form
from services.web.session import WebSession

SECTIONS = {
    "leadership": "一、加强领导，明确职责",
    "publicity": "二、广泛宣传，营造氛围",
    "enforcement": "三、明确目标，加大整治",
    "problems": "存在的问题",
    "plan": "下一步工作计划",
}
MAX_SECTION = 20_000
SERVICE_FIELDS = {f"sections.{name}": name for name in SECTIONS}
PERIOD = re.compile(r"^(20\d\d)-H([12])$")
FORMATS = ("docx", "pdf")
DOCUMENT_TIMEOUT = 120.0  # a PDF with its charts takes seconds on a busy office server


def periods(today: date, count: int = 4) -> dict[str, str]:
    """This half-year and the ones before it, code to words (2026-H2: 2026年下半年)."""
    year, half = today.year, 1 if today.month <= 6 else 2
    found = {}
    for _ in range(count):
        found[f"{year}-H{half}"] = f"{year}年{'上' if half == 1 else '下'}半年"
        year, half = (year, 1) if half == 2 else (year - 1, 2)
    return found


def period_of(value: str | None, today: date) -> str:
    """The period asked for if it is one offered, else this half-year."""
    offered = periods(today)
    return value if value in offered else next(iter(offered))


async def sections(client: ServiceClient, session: WebSession, period: str) -> Form:
    rows = await client.get(
        session, "reporting", f"/documents/{session.user.township_id}/sections", period=period
    )
    texts = {row["section"]: row["text"] for row in rows}
    return Form(values={name: texts.get(name, "") for name in SECTIONS})


def sections_body(form: Form) -> dict[str, Any] | None:
    for name in SECTIONS:
        if len(form.get(name)) > MAX_SECTION:
            form.error(name, f"太长了，最多 {MAX_SECTION} 个字")
    return {"sections": {name: form.get(name) for name in SECTIONS}} if form.ok else None


BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
DROPPED = (
    re.compile(r"<script\b.*?</script>", re.S | re.I),
    re.compile(r"\sstyle=\"[^\"]*\"", re.I),
    re.compile(r"\son\w+=\"[^\"]*\"", re.I),
)
FIGURE_LINK = re.compile(r"<a class=\"figure\" href=\"[^\"]*\">(.*?)</a>", re.S)


def preview(html: str) -> Markup:
    """The body of the reporting service's HTML rendering, to show inside this app's page: its
    own template escapes every text; scripts, inline styles and handlers are dropped all the same
    (this app's CSP would refuse them), and the figures' links into the reporting service's own
    pages become plain text."""
    found = BODY.search(html)
    body = found.group(1) if found else ""
    for pattern in DROPPED:
        body = pattern.sub("", body)
    body = FIGURE_LINK.sub(r'<span class="figure">\1</span>', body)
    body = re.sub(r"<h1>", '<h2 class="doc-title">', body).replace("</h1>", "</h2>")
    return Markup(body)  # reporting's template escaped every text; cleaned above
