"""Where photos and other evidence files are kept: an interface with a filesystem implementation.

The store is chosen by `SHIAN_INSPECTION_ATTACHMENTS` (`InspectionConfig.attachments`): unset or
`file:<dir>` keeps files on disk (default `<var_dir>/attachments`); `s3://<bucket>/<prefix>` keeps
them in an S3-compatible object store, reached through `SHIAN_INSPECTION_S3_ENDPOINT_URL` (unset:
AWS itself), `SHIAN_INSPECTION_S3_ACCESS_KEY_ID`, `SHIAN_INSPECTION_S3_SECRET_ACCESS_KEY` and
`SHIAN_INSPECTION_S3_REGION`, so that replicas on several hosts share one store. Keys are
content-addressed (`<county>/<inspection>/<sha256>`), so writing the same photo twice stores it once and a
retried upload is harmless.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from services.inspection.config import InspectionConfig
from shared.settings import Settings


class AttachmentStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """The stored bytes; FileNotFoundError when nothing is stored under the key."""
        ...

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


class S3Store:
    """Objects in one bucket under a key prefix. A PUT replaces an object whole, so a reader never
    sees half a photo; a DELETE of a missing object succeeds, as `FilesystemStore.delete` does."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def _key(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"attachment key {key!r} leaves the store")
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"s3://{self.bucket}/{self._key(key)}") from error
            raise
        return answer["Body"].read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


@functools.cache
def _s3_store(
    location: str,
    endpoint_url: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
    region: str | None,
) -> S3Store:
    """One client per configuration: building a boto3 client costs milliseconds and clients are
    thread-safe, so every request of the process shares it."""
    parts = urlsplit(location)
    if not parts.netloc:
        raise ValueError(f"SHIAN_INSPECTION_ATTACHMENTS={location!r}: s3:// needs a bucket")
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=region,
        config=Config(retries={"max_attempts": 3, "mode": "standard"}),
    )
    return S3Store(client, parts.netloc, parts.path)


def store_for(settings: Settings, config: InspectionConfig) -> AttachmentStore:
    configured = config.attachments
    if not configured:
        return FilesystemStore(settings.var_dir / "attachments")
    if configured.startswith("file:"):
        return FilesystemStore(Path(configured.removeprefix("file:")))
    if configured.startswith("s3://"):
        return _s3_store(
            configured,
            config.s3_endpoint_url,
            config.s3_access_key_id,
            config.s3_secret_access_key,
            config.s3_region,
        )
    raise ValueError(
        f"SHIAN_INSPECTION_ATTACHMENTS={configured!r}: expected file:<dir> or s3://<bucket>/<prefix>"
    )
