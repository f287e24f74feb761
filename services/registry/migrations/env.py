from services.registry.database import Base, register_tables
from shared.migrations import run_env

register_tables()
run_env(Base.metadata)
