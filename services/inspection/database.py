"""The inspection service's own metadata and infrastructure tables."""

from sqlalchemy.orm import registry

from shared.db import ServiceModel, add_infrastructure_tables
from shared.places import add_place_directory


class Base(ServiceModel, registry=registry()):
    """The inspection service's tables: a registry of their own, so a metadata of their own."""


infra = add_infrastructure_tables(Base.metadata)
place_directory = add_place_directory(Base.metadata)


def register_tables() -> None:
    """Import every module that declares a table, so the metadata is complete (migrations, the app)."""
    import services.inspection.campaigns.models
    import services.inspection.complaints.models
    import services.inspection.directory.models
    import services.inspection.inspections.models
    import services.inspection.plans.models
    import services.inspection.rectification.models  # noqa: F401
