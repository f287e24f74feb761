"""The registry's own metadata and infrastructure tables."""

from shared.db import add_infrastructure_tables, service_base

Base = service_base("registry")
infra = add_infrastructure_tables(Base.metadata)
