import services.registry.businesses.models
import services.registry.places.models  # noqa: F401
from services.registry.database import Base
from shared.migrations import run_env

run_env(Base.metadata)
