"""The errors a service raises when a request breaks a rule, knowing nothing of HTTP.

Services are called from HTTP routes, from event handlers and from the command line; each caller
turns these into its own answer. The web layer maps them once (`shared.web`): NotFound -> 404,
Forbidden -> 403, Conflict -> 409, TooLarge -> 413, Invalid -> 422, naming the field and the
reason. An event handler that meets one sees a plain domain error, never an HTTP exception.
"""

from __future__ import annotations

NOT_FOUND = "not found"


class DomainError(Exception):
    """A well-formed request that breaks a rule. `field` and `location` say where (a body field,
    a query parameter, a header), `reason` says why, in words a user can act on."""

    def __init__(self, field: str, reason: str, *, location: str = "body") -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.location = location


class Invalid(DomainError):
    """The value breaks a rule (a date before the business opened, a count that falls)."""


class Conflict(DomainError):
    """The request is valid but the record's state forbids it now (an order already verified)."""


class TooLarge(DomainError):
    """The upload is larger than this kind of file may be."""


class NotFound(DomainError):
    """No such record, or one outside the caller's scope: the same words for both, so that an
    answer never tells a caller that a record it may not see exists."""

    def __init__(self, what: str = "id") -> None:
        super().__init__(what, NOT_FOUND, location="path")


class Forbidden(DomainError):
    """The caller's role may not do this, whatever the record."""

    def __init__(self, reason: str) -> None:
        super().__init__("role", reason, location="token")
