import services.registry.banquets.models
import services.registry.businesses.models
import services.registry.expiry.models
import services.registry.letters.models
import services.registry.places.models
import services.registry.staff.models  # noqa: F401
from services.registry.database import Base
from shared.migrations import run_env

run_env(Base.metadata)
