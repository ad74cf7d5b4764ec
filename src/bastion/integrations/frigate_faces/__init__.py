"""Frigate's face recognition as a second factor at doors: faces in, ``video.face`` events out."""

from __future__ import annotations

from bastion.integrations.frigate_faces.integration import (
    FrigateFacesConfig,
    FrigateFacesIntegration,
)

__all__ = ["FrigateFacesConfig", "FrigateFacesIntegration"]
