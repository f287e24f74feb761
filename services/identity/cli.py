"""Identity's own commands: the first county account of a fresh deployment, and key rotation.

    python -m services.identity.cli first-county-account --county qingyun --name 王主任 --mobile 138...
    python -m services.identity.cli rotate-key
    python -m services.identity.cli demo-accounts       # development only

Both work on identity's database directly (SHIAN_IDENTITY_DATABASE_URL, else var/identity.db);
the events they write go out when the service's relay next runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from services.identity import demo
from services.identity.accounts import service as accounts
from services.identity.app import SPEC
from services.identity.config import SERVICE, IdentityConfig
from services.identity.context import Identity
from services.identity.database import infra
from services.identity.keys import service as keys
from services.identity.keys.service import LocalVerifier, Signer
from services.identity.limits import AttemptLimiter
from services.identity.passwords import Hasher
from shared.admission import RateCounter
from shared.clock import SYSTEM_CLOCK
from shared.db import Database
from shared.errors import DomainError
from shared.migrations import upgrade
from shared.settings import Settings

DEMO_COUNTY = Path(__file__).resolve().parents[1] / "registry" / "data" / "demo_county.yaml"

app = typer.Typer(
    help="Identity: the first county account, and rotating the signing key.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def _database() -> Iterator[tuple[Database, Settings, IdentityConfig]]:
    settings = Settings()
    url = settings.database_url(SERVICE)
    upgrade(SPEC.migrations, url)
    db = Database(url, infra=infra, stream=settings.stream(SERVICE), service=SERVICE)
    try:
        yield db, settings, IdentityConfig()
    finally:
        db.dispose()


def _identity(settings: Settings, config: IdentityConfig) -> Identity:
    return Identity(
        config=config,
        settings=settings,
        hasher=Hasher(config),
        signer=Signer(config),
        verifier=LocalVerifier(config),
        limiter=AttemptLimiter(RateCounter(settings.redis_url), settings.stream_prefix),
    )


@app.command("first-county-account")
def first_county_account(
    county: Annotated[str, typer.Option("--county", help="The county's id (as in the county definition)")],
    name: Annotated[str, typer.Option(help="The office holder's name")],
    mobile: Annotated[str, typer.Option(help="Their mobile number (signs in with it)")],
) -> None:
    """Create the county's first county account and print its one-time code (once)."""
    with _database() as (db, settings, config):
        identity = _identity(settings, config)
        try:
            with db.session() as session:
                issued = accounts.bootstrap_county(
                    session, identity, county_id=county, name=name, mobile=mobile, now=SYSTEM_CLOCK.now()
                )
        except (DomainError, ValueError) as error:
            _fail(str(error))
    console.print(f"county account {issued.account.id} for {escape(name)}")
    console.print(
        f"one-time code: [bold]{issued.code}[/] (valid until {issued.code_expires_at:%Y-%m-%d %H:%M} UTC)"
    )
    console.print(
        "set the password with POST /password {mobile, code, password}, then sign in at POST /sessions"
    )


@app.command("demo-accounts")
def demo_accounts_command(
    county_file: Annotated[
        Path | None,
        typer.Option("--county-file", help="The county definition (YAML); default: the demo county"),
    ] = None,
) -> None:
    """Demo accounts for each role of the county, with known passwords (refused in production)."""
    with _database() as (db, settings, config):
        path = county_file or settings.county_file or DEMO_COUNTY
        definition = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            with db.session() as session:
                made = demo.ensure_demo_accounts(
                    session, _identity(settings, config), definition, now=SYSTEM_CLOCK.now()
                )
        except RuntimeError as error:
            _fail(str(error))
    table = Table("who", "role", "mobile", "password")
    for account in made:
        table.add_row(account.who, account.role, account.mobile, account.password)
    console.print(table)


@app.command("rotate-key")
def rotate_key(
    actor: Annotated[str, typer.Option("--as", help="Who rotates (for the audit log)")] = "ops:cli",
) -> None:
    """Sign with a new key from now on; the previous one stays published until its tokens expire."""
    with _database() as (db, settings, config), db.session() as session:
        key = keys.rotate(
            session, now=SYSTEM_CLOCK.now(), actor=actor, county_id=settings.county_id or "*", config=config
        )
        kid = key.kid
    console.print(f"signing with key {kid} from now on")


if __name__ == "__main__":
    app()
