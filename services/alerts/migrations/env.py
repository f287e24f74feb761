# register every table of the service before alembic compares
import services.alerts.alerts.models
import services.alerts.directory.models
import services.alerts.escalation.models
import services.alerts.incidents.models
import services.alerts.notifications.models  # noqa: F401
from services.alerts.database import Base
from shared.migrations import run_env

run_env(Base.metadata)
