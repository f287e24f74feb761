"""The identity service's own metadata and infrastructure tables."""

from sqlalchemy.orm import registry
from sqlmodel import SQLModel

from shared.db import add_infrastructure_tables


class Base(SQLModel, registry=registry()):
    """The identity service's tables: a registry of their own, so a metadata of their own."""


infra = add_infrastructure_tables(Base.metadata)
