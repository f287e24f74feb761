import services.alerts.incidents.models  # noqa: F401  (register the tables)
from services.alerts.database import Base
from shared.migrations import run_env

run_env(Base.metadata)
