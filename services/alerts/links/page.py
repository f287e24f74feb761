"""The acknowledgement page: small, Chinese, readable on any phone, with no script and no
outside resource (a strict Content-Security-Policy), never cached, never framed."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never pass it on
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
STYLE = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;padding:24px;"
    "background:#f5f5f5;color:#222}main{max-width:480px;margin:auto;background:#fff;border-radius:8px;"
    "padding:20px}h1{font-size:20px;margin:0 0 16px}p{font-size:16px;line-height:1.6;margin:6px 0}"
    "button{width:100%;font-size:20px;padding:14px;margin-top:20px;border:0;border-radius:6px;"
    "background:#c62828;color:#fff}.note{color:#666;font-size:14px;margin-top:16px}"
)


def render(
    title: str, lines: list[str], *, status_code: int = 200, confirm: bool = False, note: str = ""
) -> HTMLResponse:
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    if confirm:  # posts to this same URL
        body += '<form method="post"><button type="submit">确认收到，立即处置</button></form>'
    if note:
        body += f'<p class="note">{escape(note)}</p>'
    document = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(document, status_code=status_code, headers=HEADERS)
