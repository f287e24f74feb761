# register every table of the service before alembic compares
import services.inspection.campaigns.models
import services.inspection.complaints.models
import services.inspection.directory.models
import services.inspection.inspections.models
import services.inspection.plans.models
import services.inspection.rectification.models  # noqa: F401
from services.inspection.database import Base
from shared.migrations import run_env

run_env(Base.metadata)
