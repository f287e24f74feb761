"""The county definition file: the county, its townships and villages, as a deployment declares them.

SHIAN_COUNTY_FILE names it; unset, the demo county shipped with the registry is used. The registry
loads it into its places, `shian token` issues tokens for its places, and a deployment without
SHIAN_COUNTY_ID takes the county's id from it.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from services.registry.places.models import CountyDefinition
from shared.settings import Settings, get_settings

DEMO_COUNTY_FILE = Path(__file__).resolve().parents[1] / "data" / "demo_county.yaml"
COUNTY_FILE_VARIABLE = "SHIAN_COUNTY_FILE"


def county_file(settings: Settings | None = None) -> Path:
    """SHIAN_COUNTY_FILE if set, else the shipped demo county."""
    return (settings or get_settings()).county_file or DEMO_COUNTY_FILE


def read_county(path: Path | None = None) -> CountyDefinition:
    """The county definition in a YAML (or JSON) file; raises ValueError with the file's name."""
    path = path or county_file()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return CountyDefinition.model_validate(raw)
    except OSError as error:
        raise ValueError(f"cannot read the county file {path}: {error.strerror or error}") from error
    except (yaml.YAMLError, ValueError) as error:
        raise ValueError(f"the county file {path} is not a valid county definition: {error}") from error
