"""Passwords and one-time codes: Argon2id hashes (argon2-cffi) and the rules a password must meet.

The rules are those of common government-system practice (GB/T 22239-2019, level 3): at least 8
characters, at least three of upper-case letters, lower-case letters, digits and symbols, not
containing the account's mobile number, and none of the account's last passwords. A broken rule is
answered 422 naming it.
"""

from __future__ import annotations

import hashlib
import secrets
import string

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.identity.config import IdentityConfig
from shared.errors import Invalid

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or typed from paper
CODE_LENGTH = 10  # about 49 bits
CLASSES = {
    "upper-case letters": set(string.ascii_uppercase),
    "lower-case letters": set(string.ascii_lowercase),
    "digits": set(string.digits),
}


class Hasher:
    """Argon2id with the configured cost. A dummy hash made at start lets a sign-in for an unknown
    account spend the same time as one for a known account with a wrong password."""

    def __init__(self, config: IdentityConfig) -> None:
        self.argon2 = PasswordHasher(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_kib,
            parallelism=config.argon2_parallelism,
            type=Type.ID,
        )
        self._dummy = self.argon2.hash(secrets.token_urlsafe(16))

    @property
    def parameters(self) -> str:
        p = self.argon2
        return f"Argon2id t={p.time_cost} m={p.memory_cost} KiB p={p.parallelism}"

    def hash(self, secret: str) -> str:
        return self.argon2.hash(secret)

    def verify(self, stored: str | None, secret: str) -> bool:
        """Whether `secret` matches `stored`; with nothing stored, the dummy is verified (same time)."""
        try:
            return self.argon2.verify(stored or self._dummy, secret) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def waste(self, secret: str) -> None:
        """Spend what a verification costs, for an answer that must not come sooner."""
        self.verify(None, secret)

    def needs_rehash(self, stored: str) -> bool:
        return self.argon2.check_needs_rehash(stored)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return code.replace(" ", "").replace("-", "").upper()


def new_secret() -> str:
    """A refresh token or a client secret: 256 random bits."""
    return secrets.token_urlsafe(32)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def check_rules(password: str, *, mobile: str, config: IdentityConfig, field: str = "password") -> None:
    """422 naming the first rule the password breaks (history is checked by the caller)."""
    if len(password) < config.password_min_length:
        raise Invalid(field, f"must be at least {config.password_min_length} characters")
    if len(password) > config.password_max_length:
        raise Invalid(field, f"must be at most {config.password_max_length} characters")
    if any(character.isspace() or not character.isprintable() for character in password):
        raise Invalid(field, "must not contain spaces or control characters")
    classes = {name for name, members in CLASSES.items() if any(c in members for c in password)}
    if any(not c.isalnum() or not c.isascii() for c in password):
        classes.add("symbols")
    if len(classes) < config.password_min_classes:
        raise Invalid(
            field,
            f"must mix at least {config.password_min_classes} of: upper-case letters, lower-case "
            f"letters, digits, symbols (it has {len(classes)})",
        )
    if mobile and (mobile in password or mobile[-8:] in password):
        raise Invalid(field, "must not contain the account's mobile number")


def check_history(hasher: Hasher, password: str, previous: list[str], *, config: IdentityConfig) -> None:
    for stored in previous[: config.password_history]:
        if hasher.verify(stored, password):
            raise Invalid("password", f"must differ from the last {config.password_history} passwords")
