"""Demo accounts for the demo county: one per role, with known passwords, refused in production.

`make run` calls `ensure_demo_accounts` (through `shian.demo.load_demo_accounts`);
`shian identity demo-accounts` does it on its own. Accounts already there are left alone
(their passwords too), so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from services.identity.accounts import service as accounts
from services.identity.accounts.models import Account
from services.identity.context import Identity

DEMO_PASSWORD = "Qingyun#2026"


@dataclass(frozen=True)
class DemoAccount:
    who: str
    role: str
    name: str
    mobile: str
    password: str
    township_id: str | None = None
    village_id: str | None = None


def demo_accounts(definition: dict[str, Any]) -> list[DemoAccount]:
    """The demo county's accounts: the county office, operations, each township's office and an
    inspector, each village's coordinator (named as in the definition)."""
    found = [
        DemoAccount("county office", "county", "县食安办", "13800000001", DEMO_PASSWORD),
        DemoAccount("operations", "ops", "运维值班", "13800000009", DEMO_PASSWORD),
    ]
    for t, township in enumerate(definition.get("townships", [])):
        found.append(
            DemoAccount(
                f"{township['name']} office",
                "township",
                f"{township['name']}食安办",
                f"138000001{t:02d}",
                DEMO_PASSWORD,
                township_id=township["id"],
            )
        )
        found.append(
            DemoAccount(
                f"{township['name']} inspector",
                "inspector",
                f"{township['name']}检查员",
                f"138000002{t:02d}",
                DEMO_PASSWORD,
                township_id=township["id"],
            )
        )
        for v, village in enumerate(township.get("villages", [])):
            found.append(
                DemoAccount(
                    f"{village['name']} coordinator",
                    "village",
                    village.get("coordinator") or f"{village['name']}协管员",
                    f"1380001{t:02d}{v:02d}",
                    DEMO_PASSWORD,
                    township_id=township["id"],
                    village_id=village["id"],
                )
            )
    return found


def ensure_demo_accounts(
    session: Session, identity: Identity, definition: dict[str, Any], *, now: datetime
) -> list[DemoAccount]:
    """Create the demo accounts that are missing, active with the demo password."""
    if identity.settings.env == "production" or identity.config.env == "production":
        raise RuntimeError("demo accounts are refused in production")
    county_id = str(definition["id"])
    wanted = demo_accounts(definition)
    for demo in wanted:
        if session.exec(select(Account.id).where(Account.mobile == demo.mobile)).first() is not None:
            continue
        account = Account(
            name=demo.name,
            mobile=demo.mobile,
            role=demo.role,
            county_id=county_id,
            township_id=demo.township_id,
            village_id=demo.village_id,
            status="active",
            password_hash=identity.hasher.hash(demo.password),
            password_set_at=now,
            created_by="demo",
            created_at=now,
            updated_at=now,
        )
        session.add(account)
        accounts.record_created(session, account, actor="demo", now=now)
    session.flush()
    return wanted
