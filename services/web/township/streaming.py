"""Files from a service passed on to the browser as they arrive (a rejection report, a DOCX or
PDF summary): fetched with the user's token, never buffered whole in the web process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from urllib.parse import quote

from starlette.responses import StreamingResponse

from services.web.client import ServiceClient
from services.web.session import WebSession

PASSED_ON = ("content-type", "content-length", "content-disposition")


async def stream_file(
    client: ServiceClient,
    session: WebSession,
    service: str,
    path: str,
    filename: str | None = None,
    timeout: float | None = None,
    **params: str,
) -> StreamingResponse:
    """The service's answer as a download named `filename` (None: as the service names it). The
    service's refusal (404, 403, no answer) is raised before anything is sent, so the browser gets
    the Chinese error page."""
    stack = AsyncExitStack()
    response = await stack.enter_async_context(
        client.stream(session, service, path, timeout=timeout, **params)
    )

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_bytes():
                yield chunk
        finally:
            await stack.aclose()

    headers = {name: response.headers[name] for name in PASSED_ON if name in response.headers}
    if "content-encoding" in response.headers:  # aiter_bytes decodes: the length is not the body's
        headers.pop("content-length", None)
    if filename is not None:
        ascii_name = filename.encode("ascii", "ignore").decode() or "download"
        headers["content-disposition"] = (
            f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
        )
    headers["cache-control"] = "no-store"
    return StreamingResponse(body(), headers=headers)
