"""The registry's own metadata and infrastructure tables."""

from sqlalchemy.orm import registry

from shared.db import ServiceModel, add_infrastructure_tables


class Base(ServiceModel, registry=registry()):
    """The registry service's tables: a registry of their own, so a metadata of their own."""


infra = add_infrastructure_tables(Base.metadata)


def register_tables() -> None:
    """Import every module that declares a table, so the metadata is complete (migrations, the app)."""
    import services.registry.banquets.models
    import services.registry.businesses.models
    import services.registry.expiry.models
    import services.registry.letters.models
    import services.registry.places.models
    import services.registry.staff.models  # noqa: F401
