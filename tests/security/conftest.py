"""Reports how many requests the security suite sent, so a long run says how much it covered."""

from __future__ import annotations

import pytest

from tests.support.security import REQUESTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    sent = config.stash.get(REQUESTS, 0)
    if sent:
        terminalreporter.write_line(f"schemathesis: {sent} requests sent")
