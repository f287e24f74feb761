"""Where photos and other evidence files are kept: an interface with a filesystem implementation.

The store is chosen by `SHIAN_INSPECTION_ATTACHMENTS`: unset or `file:<dir>` keeps files on disk
(default `<var_dir>/attachments`). Keys are content-addressed (`<inspection>/<sha256>`), so writing
the same photo twice stores it once and a retried upload is harmless.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol

from shared.settings import Settings


class AttachmentStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


class FilesystemStore:
    """Files under a root directory, written atomically (temporary file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"attachment key {key!r} leaves the store")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def store_for(settings: Settings) -> AttachmentStore:
    configured = os.environ.get("SHIAN_INSPECTION_ATTACHMENTS", "")
    if not configured:
        return FilesystemStore(settings.var_dir / "attachments")
    if configured.startswith("file:"):
        return FilesystemStore(Path(configured.removeprefix("file:")))
    raise ValueError(f"SHIAN_INSPECTION_ATTACHMENTS={configured!r}: only file:<dir> is supported")
