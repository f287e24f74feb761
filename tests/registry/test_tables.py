"""register_tables() names every module that declares a registry table: the migrations and the app
see the whole schema even when a new domain package is not imported by anything else yet."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import importlib, json, pkgutil
import services.registry
from services.registry.database import Base, register_tables
register_tables()
registered = sorted(Base.metadata.tables)
for module in pkgutil.walk_packages(services.registry.__path__, "services.registry."):
    if ".migrations" not in module.name and not module.name.endswith("__main__"):
        importlib.import_module(module.name)
print(json.dumps([registered, sorted(Base.metadata.tables)]))
"""


def test_register_tables_declares_every_table_of_the_registry():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    registered, everything = json.loads(done.stdout.strip().splitlines()[-1])
    assert "businesses" in registered
    assert registered == everything
