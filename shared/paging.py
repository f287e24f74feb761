"""The paging parameters every list endpoint takes.

An offset or limit is bound into SQL as a 64-bit integer: 2**63 and more overflow the driver and
were answered 500. The bounds here are far above any real list and far below that limit, so a client
gets a 422 naming `offset` or `limit` instead.
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

MAX_OFFSET = 10**9
MAX_LIMIT = 500

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows to return at most")]


def limit_of(most: int) -> Any:
    """A `Limit` with another ceiling, for lists whose rows are heavier or lighter than most."""
    return Annotated[int, Query(ge=1, le=most, description="Rows to return at most")]


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list: the rows, how many there are in all, and where this page starts."""

    items: list[Item]
    total: int
    offset: int
    limit: int
