"""What the security suite counts while it runs, reported at the end by tests/security/conftest.py."""

from __future__ import annotations

import pytest

REQUESTS = pytest.StashKey[int]()
"""Requests schemathesis sent, on the session's `config.stash`."""
