"""The inspection service's own metadata and infrastructure tables."""

from shared.db import add_infrastructure_tables, service_base
from shared.places import add_place_directory

Base = service_base("inspection")
infra = add_infrastructure_tables(Base.metadata)
place_directory = add_place_directory(Base.metadata)
