"""The README's reference tables, generated from the code: every endpoint of every service (from
its OpenAPI description) and every event of the catalogue.

    python -m shian.docs endpoints     # markdown, one table per service
    python -m shian.docs events        # markdown, the event catalogue

A test holds the README to these: an endpoint or event missing from it fails the suite.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator

from shared.events import CATALOGUE
from shared.settings import DATA_SERVICES, Settings

OPERATIONS = {"/healthz", "/readyz", "/metrics"}


def endpoints() -> Iterator[tuple[str, str, str, str]]:
    """(service, method, path, summary) for every documented endpoint."""
    settings = Settings(env="test", secret_key="documentation-only-" + "x" * 32)
    for name in DATA_SERVICES:
        app = importlib.import_module(f"services.{name}.app").create(settings)
        for path, operations in app.openapi()["paths"].items():
            if path in OPERATIONS:
                continue
            for method, operation in operations.items():
                yield name, method.upper(), path, operation.get("summary", "")


def endpoints_markdown() -> str:
    lines: list[str] = []
    current = None
    for service, method, path, summary in endpoints():
        if service != current:
            lines += ["", f"**{service}**", "", "| method | path | what |", "|---|---|---|"]
            current = service
        lines.append(f"| {method} | `{path}` | {summary} |")
    return "\n".join(lines).strip() + "\n"


def events_markdown() -> str:
    lines = ["| type | v | producer | payload fields |", "|---|---|---|---|"]
    for (event_type, version), payload in sorted(
        CATALOGUE.items(), key=lambda item: (item[1].PRODUCER, item[0])
    ):
        fields = ", ".join(payload.model_fields)
        lines.append(f"| `{event_type}` | {version} | {payload.PRODUCER} | {fields} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    what = argv[0] if argv else "endpoints"
    print(endpoints_markdown() if what == "endpoints" else events_markdown(), end="")


if __name__ == "__main__":
    main(sys.argv[1:])
