"""Where this node reads each site's recordings and camera snapshots (the node's config file).

The sources are configuration, not API input: an operator asks for a check of a camera,
never names a URL or a path the server would then read.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

SETTINGS_KEY = "upkeep_settings"
"""``hub.extras`` key of the per-site settings (site id → :class:`SiteUpkeep`)."""


class SiteUpkeep(BaseModel):
    """One site's recording and snapshot sources."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frigate_url: str | None = Field(
        default=None, description="Frigate's web address; its recordings and latest.jpg are read."
    )
    segment_folder: Path | None = Field(
        default=None, description="A folder of timestamped segment files (any NVR)."
    )
    segment_seconds: float | None = Field(
        default=None, gt=0, description="Trust this segment length instead of reading each file."
    )
    cameras: dict[str, str] = Field(
        default_factory=dict, description="Our camera id → the recorder's camera name."
    )
    snapshots: dict[str, str] = Field(
        default_factory=dict, description="Our camera id → a snapshot URL or image file."
    )
    min_gap_s: float = Field(
        default=2.0, ge=0, description="Shorter holes (ffmpeg restarts) are not listed as gaps."
    )
    timeout_s: float = Field(default=10.0, gt=0, description="Seconds to wait for the recorder.")
    required_coverage_pct: float = Field(
        default=99.9, ge=0, le=100, description="Coverage below this is a recording gap finding."
    )
