"""Cardholder photos: checked, re-encoded, and kept encrypted in the data directory.

A photo is personal data, so it never lies on disk in clear: each image is sealed with
the process key ring (the same keys as the encrypted columns) before it is written.
Uploads are decoded and re-encoded as a bounded JPEG, which proves they are pictures,
drops EXIF metadata (a phone's location, for one) and keeps every file small. A second,
thumbnail-sized copy serves the cardholder list.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from bastion.core.errors import InvalidInput
from bastion.store import crypto
from bastion.store.files import secure_dir

MAX_UPLOAD = 5 * 1024 * 1024
"""The largest upload accepted (a phone camera's JPEG fits; a raw scan does not)."""
MAX_PIXELS = 40_000_000
"""Refuse larger pictures before decoding them (a small file can unpack to huge images)."""
FULL_EDGE = 640
THUMB_EDGE = 96
JPEG = "image/jpeg"
Size = Literal["full", "thumb"]
_SUFFIX: dict[str, str] = {"full": ".jpg.sealed", "thumb": ".thumb.jpg.sealed"}


def photo_dir(data_dir: Path) -> Path:
    """Return the owner-only folder that holds the sealed photos."""
    path = data_dir / "people" / "photos"
    secure_dir(path, create=True)
    return path


def _path(data_dir: Path, person_id: str, size: Size) -> Path:
    if not person_id.isalnum():  # ids are ULIDs; anything else must not reach a path
        raise InvalidInput("unknown person")
    return photo_dir(data_dir) / f"{person_id}{_SUFFIX[size]}"


def prepare(image: bytes) -> tuple[bytes, bytes]:
    """Return (photo, thumbnail) JPEGs made from an uploaded picture, or say what is wrong."""
    if not image:
        raise InvalidInput("choose a picture file or take a photo first")
    if len(image) > MAX_UPLOAD:
        size = len(image) / (1024 * 1024)
        raise InvalidInput(f"that picture is {size:.1f} MB; a photo may be at most 5 MB")
    width, height = dimensions(image)
    if width * height > MAX_PIXELS:
        raise InvalidInput("that picture has too many pixels; use a photo under 40 megapixels")
    import cv2  # heavy: only when a photo is actually processed
    import numpy as np

    picture = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_COLOR)
    if picture is None:
        raise InvalidInput("that picture is damaged and cannot be read; try another file")
    if picture.shape[0] * picture.shape[1] > MAX_PIXELS:  # the header understated it
        raise InvalidInput("that picture has too many pixels; use a photo under 40 megapixels")
    return _jpeg(picture, FULL_EDGE), _jpeg(picture, THUMB_EDGE)


def dimensions(image: bytes) -> tuple[int, int]:
    """Return (width, height) read from a JPEG or PNG header, before anything is decoded.

    Anything else is refused: cameras and the browser's canvas give JPEG, screenshots PNG.
    """
    if image.startswith(b"\x89PNG\r\n\x1a\n") and image[12:16] == b"IHDR":
        return int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")
    if image.startswith(b"\xff\xd8"):
        at = 2
        while at + 9 < len(image):
            if image[at] != 0xFF:
                break
            marker = image[at + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                at += 2
                continue
            length = int.from_bytes(image[at + 2 : at + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(image[at + 5 : at + 7], "big")
                width = int.from_bytes(image[at + 7 : at + 9], "big")
                return width, height
            at += 2 + length
        raise InvalidInput("that picture is damaged and cannot be read; try another file")
    raise InvalidInput("that file is not a picture; use a JPEG or PNG photo")


def _jpeg(picture: object, edge: int) -> bytes:
    import cv2
    import numpy as np

    assert isinstance(picture, np.ndarray)
    height, width = picture.shape[:2]
    scale = min(1.0, edge / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        picture = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise InvalidInput("that picture could not be converted; try another file")
    return bytes(encoded.tobytes())


def _write(path: Path, data: bytes) -> None:
    """Write ``data`` owner-only, replacing the old file in one step."""
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temp, path)


def store(data_dir: Path, person_id: str, photo: bytes, thumbnail: bytes) -> None:
    """Seal and keep a prepared photo and its thumbnail, replacing any earlier one."""
    ring = crypto.keyring()
    _write(_path(data_dir, person_id, "full"), ring.encrypt_bytes(photo))
    _write(_path(data_dir, person_id, "thumb"), ring.encrypt_bytes(thumbnail))


def load(data_dir: Path, person_id: str, size: Size = "full") -> bytes | None:
    """Return a person's photo as JPEG bytes, or None when they have none."""
    path = _path(data_dir, person_id, size)
    try:
        sealed = path.read_bytes()
    except FileNotFoundError:
        return None
    return crypto.keyring().decrypt_bytes(sealed)


def has_photo(data_dir: Path, person_id: str) -> bool:
    """Return True when a person has a photo on file."""
    return _path(data_dir, person_id, "full").is_file()


def remove(data_dir: Path, person_id: str) -> bool:
    """Delete a person's photo; return False when there was none."""
    found = False
    sizes: tuple[Size, ...] = ("full", "thumb")
    for size in sizes:
        path = _path(data_dir, person_id, size)
        if path.exists():
            path.unlink()
            found = True
    return found
