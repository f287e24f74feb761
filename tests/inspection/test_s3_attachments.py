"""Photos in an S3-compatible object store: a real S3 server (moto) on 127.0.0.1, driven through
the service's HTTP API exactly as with the filesystem store."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from services.inspection.config import InspectionConfig
from services.inspection.inspections import attachments
from shared.settings import Settings
from tests.support.county import COUNTY
from tests.support.inspection import Inspection, results

BUCKET = "shian-evidence"
PREFIX = "county-a/photos"
CREDENTIALS = {"aws_access_key_id": "shian-test", "aws_secret_access_key": "shian-test-secret"}
REGION = "us-east-1"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An empty bucket, and the service configured to keep its photos there."""
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION, **CREDENTIALS)
    client.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("SHIAN_INSPECTION_ATTACHMENTS", f"s3://{BUCKET}/{PREFIX}")
    monkeypatch.setenv("SHIAN_INSPECTION_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("SHIAN_INSPECTION_S3_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("SHIAN_INSPECTION_S3_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    monkeypatch.setenv("SHIAN_INSPECTION_S3_REGION", REGION)
    attachments._s3_store.cache_clear()
    yield client
    attachments._s3_store.cache_clear()
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client: Any) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def test_a_photo_goes_to_the_bucket_and_comes_back_through_the_api(
    bucket: Any, inspection: Inspection, settings: Settings
):
    recorded = inspection.inspected(inspection.business(), items=results(fail=("4.2",)))
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
    url = f"/inspections/{recorded['id']}/photos"
    uploaded = inspection.as_(
        "inspector",
        "POST",
        url,
        params={"filename": "后厨.jpg"},
        content=photo,
        headers={"Content-Type": "image/jpeg"},
    )
    assert uploaded.status_code == 201, uploaded.text

    key = f"{PREFIX}/{COUNTY}/{recorded['id']}/{hashlib.sha256(photo).hexdigest()}"
    assert keys(bucket) == [key]
    assert bucket.get_object(Bucket=BUCKET, Key=key)["Body"].read() == photo
    assert not (settings.var_dir / "attachments").exists()

    downloaded = inspection.as_("dongshan", "GET", f"{url}/{uploaded.json()['id']}")
    assert downloaded.status_code == 200
    assert downloaded.content == photo and downloaded.headers["content-type"] == "image/jpeg"
    assert inspection.as_("xishui", "GET", f"{url}/{uploaded.json()['id']}").status_code == 404


def test_a_refused_photo_leaves_the_bucket_empty(bucket: Any, inspection: Inspection):
    recorded = inspection.inspected(inspection.business())
    refused = inspection.as_(
        "inspector",
        "POST",
        f"/inspections/{recorded['id']}/photos",
        params={"filename": "a.txt"},
        content=b"not a photo",
        headers={"Content-Type": "text/plain"},
    )
    assert refused.status_code == 422
    assert keys(bucket) == []


def test_a_missing_object_reads_as_a_missing_file(bucket: Any):
    store = attachments.store_for(Settings(), InspectionConfig())
    assert isinstance(store, attachments.S3Store)
    store.put("x/1", b"one")
    store.delete("x/1")
    store.delete("x/1")  # deleting again is harmless, as on disk
    with pytest.raises(FileNotFoundError):
        store.get("x/1")
    with pytest.raises(ValueError, match="leaves the store"):
        store.put("../outside", b"no")
