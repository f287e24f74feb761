"""The full list of an import's rejections, kept for download as a CSV file under the var directory.

The answer to an import carries only the first rejections (a 50,000-row file of bad rows would
otherwise answer with megabytes of JSON); the rest are written here as they are found, one line
each, so no list of them is ever held. Beside each report, a small JSON file records the county
and township of the office that imported: only that office (and its county) may download it, anyone
else is answered 404. Reports are kept KEEP_DAYS days; older ones are removed when a new one is
written. Replicas on several hosts need `SHIAN_VAR_DIR/imports` on shared storage to serve each
other's reports.
"""

from __future__ import annotations

import csv
import json
import os
import time
import uuid
from pathlib import Path
from typing import IO, Any

from services.registry.imports.models import Rejection
from shared.auth import Principal
from shared.spreadsheet import safe_row

KEEP_DAYS = 30
HEADER = ("row", "column", "reason")


def directory(var_dir: Path) -> Path:
    return var_dir / "imports"


class RejectionReport:
    """One import's report being written: `add` each rejection, then `close()`; a report with
    no rejection leaves no file."""

    def __init__(self, var_dir: Path, principal: Principal) -> None:
        self.import_id = str(uuid.uuid4())
        self.count = 0
        self._principal = principal
        self._root = directory(var_dir)
        self._root.mkdir(parents=True, exist_ok=True)
        self._partial = self._root / f".{self.import_id}.csv.part"
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def add(self, rejection: Rejection) -> None:
        if self._handle is None:
            self._handle = self._partial.open("w", newline="", encoding="utf-8-sig")
            self._writer = csv.writer(self._handle)
            self._writer.writerow(HEADER)
        self._writer.writerow(safe_row((rejection.row, rejection.field, rejection.reason)))
        self.count += 1

    def close(self) -> str | None:
        """Publish the report; its import id, or None when nothing was rejected."""
        if self._handle is None:
            return None
        self._handle.close()
        self._handle = None
        scope = {
            "county_id": self._principal.county_id,
            "township_id": self._principal.township_id,
            "actor": self._principal.actor,
            "rejections": self.count,
        }
        (self._root / f"{self.import_id}.json").write_text(json.dumps(scope), encoding="utf-8")
        os.replace(self._partial, self._root / f"{self.import_id}.csv")
        _remove_old(self._root)
        return self.import_id

    def discard(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self._partial.unlink(missing_ok=True)


def _remove_old(root: Path) -> None:
    cutoff = time.time() - KEEP_DAYS * 86_400
    for path in root.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except FileNotFoundError:  # another replica removed it first
            continue


def find(var_dir: Path, import_id: uuid.UUID, principal: Principal) -> Path | None:
    """The report's CSV if it exists and the caller's place covers the importing office's."""
    root = directory(var_dir)
    report, scope_file = root / f"{import_id}.csv", root / f"{import_id}.json"
    try:
        scope = json.loads(scope_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not principal.sees(county_id=scope["county_id"], township_id=scope["township_id"]):
        return None
    return report if report.exists() else None
