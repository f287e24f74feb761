import services.reporting.summaries.models  # noqa: F401  (register the tables)
from services.reporting.database import Base
from shared.migrations import run_env

run_env(Base.metadata)
