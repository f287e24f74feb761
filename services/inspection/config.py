"""Settings of the inspection service only (SHIAN_INSPECTION_* variables).

The shared `Settings` hold what every service needs; these are the inspection service's own knobs:
how often the deadline scheduler looks for passed deadlines, and where photos are kept.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InspectionConfig(BaseSettings):
    """The inspection service's settings, validated at start."""

    model_config = SettingsConfigDict(env_prefix="SHIAN_INSPECTION_", extra="ignore", env_ignore_empty=True)

    check_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="Deadline scheduler period: overdue notices, then the supervision gauges",
    )

    attachments: str = Field(
        default="",
        description="Where photos are kept: file:<dir>, or s3://<bucket>/<prefix>; "
        "empty: <var_dir>/attachments",
    )
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible store; unset: AWS itself")
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_region: str | None = None
