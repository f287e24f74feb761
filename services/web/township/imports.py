"""Importing a ledger through the web app: the upload is kept in a temporary file, sent on to the
registry (`POST /imports/businesses`, the file as the body, streamed) by a task of this process,
and its state kept in Redis so the page can poll it (`uploading` with the share sent, `checking`
while the registry reads the rows, then `done` with the report, `refused`, or `failed`).

A job belongs to the account that started it: another account asking for it gets the 404 page.
The registry's answer is what is shown; nothing is decided here. A job is forgotten after a day;
if this process stops mid-import the job stays `checking` until then and the page says so after
`STALE_SECONDS` (the registry commits an import all at once, so nothing is half-written).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from redis.asyncio import Redis

from services.web.client import Refused, ServiceClient, SignInRequired, Unavailable
from services.web.session import WebSession

log = logging.getLogger("shian.web.township.imports")

MAX_BYTES = 32 * 1024 * 1024  # the registry's own limit for a ledger
CHUNK = 64 * 1024
TTL_SECONDS = 24 * 3600
STALE_SECONDS = 15 * 60
IMPORT_TIMEOUT = 300.0
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
FORMATS = {".csv": "csv", ".xlsx": "xlsx"}
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# the ledger's columns (services/registry/imports/ledger.py), as a township office calls them
COLUMNS = {
    "name": "名称",
    "kind": "类型",
    "village": "所在村",
    "village_id": "所在村",
    "operator": "经营者",
    "address": "地址",
    "registered_on": "登记日期",
    "latitude": "纬度",
    "longitude": "经度",
    "business_licence_number": "营业执照号",
    "business_licence_issued_on": "营业执照发证日期",
    "business_licence_expires_on": "营业执照有效期至",
    "food_permit_number": "食品经营许可证号",
    "food_permit_issued_on": "许可证发证日期",
    "food_permit_expires_on": "许可证有效期至",
    "file": "文件",
}
# the registry's reasons for a rejected row, in words a township office uses
REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"missing columns: (.*)$"), "缺少这些列：{0}"),
    (re.compile(r"unknown columns: (.*)$"), "有无法识别的列：{0}"),
    (re.compile(r"the file is empty"), "文件是空的"),
    (re.compile(r"neither UTF-8 nor GB18030"), "无法识别文件的编码，请另存为 UTF-8 的 CSV"),
    (re.compile(r"more than (\d+) rows"), "超过 {0} 行，请拆分成几个文件"),
    (re.compile(r"not an XLSX workbook|not a ledger workbook|no worksheet"), "不是有效的 XLSX 台账文件"),
    (re.compile(r"larger than"), "文件太大，最大 32 MB"),
    (re.compile(r"^(required|Field required|String should have at least 1 character)$"), "必须填写"),
    (re.compile(r"^unknown village '?(.*?)'? in your area$"), "本乡镇没有这个村：{0}"),
    (re.compile(r"names villages in several townships"), "村名重名，请填写村编号"),
    (re.compile(r"is already registered in (.*)$"), "{0}已登记过同名的经营主体"),
    (re.compile(r"is already registered to (.*)$"), "证号已登记在「{0}」名下"),
    (re.compile(r"is used in row (\d+) too$"), "与第 {0} 行的证号重复"),
    (re.compile(r"is registered outside"), "证号已在其他地方登记"),
    (re.compile(r"cannot be in the future"), "不能晚于今天"),
    (re.compile(r"needs both coordinates"), "经纬度要一起填写"),
    (re.compile(r"^Input should be"), "不是可选的值"),
    (re.compile(r"^String should have at most (\d+) character"), "太长了，最多 {0} 个字"),
    (re.compile(r"^String should match pattern"), "含有不允许的字符"),
    (re.compile(r"expiry cannot be before the issue date"), "不能早于发证日期"),
    (re.compile(r"(date|Date)"), "日期格式不对"),
    (re.compile(r"longer than|too long"), "内容太长"),
)


def reason(text: str) -> str:
    for pattern, chinese in REASONS:
        found = pattern.search(text)
        if found:
            return chinese.format(*found.groups())
    return f"未能导入（{text[:80]}）"


def column(key: str) -> str:
    return COLUMNS.get(key, key)


def format_of(filename: str) -> str | None:
    """csv or xlsx, by the file's name; None for anything else."""
    return FORMATS.get(os.path.splitext(filename.lower())[1])


class Jobs:
    """The import jobs of this web app, in Redis under `<prefix>.web.import:<id>`."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, job_id: str) -> str:
        return f"{self.prefix}.web.import:{job_id}"

    async def save(self, job_id: str, state: dict[str, Any]) -> None:
        state["updated_at"] = time.time()
        await self.redis.set(self._key(job_id), json.dumps(state), ex=TTL_SECONDS)

    async def load(self, job_id: str, account_id: str) -> dict[str, Any] | None:
        """The job, only for the account that started it."""
        raw = await self.redis.get(self._key(job_id))
        if raw is None:
            return None
        state: dict[str, Any] = json.loads(raw)
        if state.get("owner") != account_id:
            return None
        if state["state"] in ("uploading", "checking") and time.time() - state["updated_at"] > STALE_SECONDS:
            state["state"] = "lost"
        return state


_running: set[asyncio.Task[None]] = set()  # held so a running import is not collected


async def spool(upload: Any) -> tuple[BinaryIO, int]:
    """The uploaded file copied into a temporary file of ours (the form's goes with the request);
    ValueError past MAX_BYTES."""
    copy = tempfile.TemporaryFile(prefix="shian-web-ledger-")  # noqa: SIM115 (closed by the import task)
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > MAX_BYTES:
            copy.close()
            raise ValueError("too large")
        copy.write(chunk)
    copy.seek(0)
    return copy, size


def start(
    jobs: Jobs,
    client: ServiceClient,
    session: WebSession,
    job_id: str,
    source: BinaryIO,
    size: int,
    fmt: str,
    dry_run: bool,
) -> None:
    task = asyncio.create_task(_run(jobs, client, session, job_id, source, size, fmt, dry_run))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _run(
    jobs: Jobs,
    client: ServiceClient,
    session: WebSession,
    job_id: str,
    source: BinaryIO,
    size: int,
    fmt: str,
    dry_run: bool,
) -> None:
    owner = session.user.account_id
    base = {"owner": owner, "format": fmt, "dry_run": dry_run, "size": size}
    sent = 0
    last_saved = 0.0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent, last_saved
        while chunk := await asyncio.to_thread(source.read, CHUNK):
            sent += len(chunk)
            yield chunk
            if time.monotonic() - last_saved > 0.5:
                last_saved = time.monotonic()
                await jobs.save(job_id, {**base, "state": "uploading", "sent": sent})
        await jobs.save(job_id, {**base, "state": "checking", "sent": sent})

    try:
        report = await client.call(
            session,
            "registry",
            "POST",
            "/imports/businesses",
            params={"format": fmt, "dry_run": "true" if dry_run else "false"},
            content=body(),
            headers={"Content-Type": MEDIA[fmt], "Content-Length": str(size)},
            timeout=IMPORT_TIMEOUT,
        )
        await jobs.save(job_id, {**base, "state": "done", "sent": size, "report": report})
    except Refused as refused:
        reasons = [reason(str(error.get("msg", ""))) for error in refused.errors] or ["文件未被接受"]
        await jobs.save(job_id, {**base, "state": "refused", "sent": size, "reasons": reasons})
    except (Unavailable, SignInRequired) as error:
        log.warning("ledger import %s failed: %s", job_id, error)
        await jobs.save(job_id, {**base, "state": "failed", "sent": sent})
    except Exception:
        log.exception("ledger import %s failed", job_id)
        await jobs.save(job_id, {**base, "state": "failed", "sent": sent})
    finally:
        source.close()


def new_id() -> str:
    return uuid.uuid4().hex
