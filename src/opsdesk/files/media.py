"""Photos and videos people upload: turn an upload into bytes safe to keep, or a refusal in
plain words.

The type is read from the bytes (``filetype``), never from the name or the browser's
content type. Location is removed before anything is stored: a photo is decoded, turned
upright by its orientation tag and saved again without EXIF or XMP (HEIC is saved as JPEG,
which every browser shows); an MP4's location atoms (``©xyz``, ``loci``, Apple's location
keys) are overwritten in place by ``free`` atoms of the same size, so no offset in the file
moves and the video plays as before.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

import filetype
import pillow_heif
from mutagen import MutagenError
from mutagen.mp4 import MP4
from PIL import Image, ImageOps, UnidentifiedImageError

from opsdesk.files.refs import FileKind
from opsdesk.settings import Settings

pillow_heif.register_heif_opener()

PHOTO_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/heic": "JPEG"}
"""The photo types we take, and the format each is kept in."""
VIDEO_TYPES = {"video/mp4"}
KEPT_TYPES: dict[str, FileKind] = {
    "image/jpeg": "photo",
    "image/png": "photo",
    "video/mp4": "video",
}
"""What a kept file may be, by content type."""
TAKEN = "we take JPEG, PNG or HEIC photos and MP4 videos"

# What a file we do not take is, said the way a person would say it.
_OTHER_TYPES = {
    "image/gif": "a GIF picture",
    "image/webp": "a WebP picture",
    "image/avif": "an AVIF picture",
    "image/bmp": "a BMP picture",
    "image/tiff": "a TIFF picture",
    "image/apng": "an animated PNG",
    "image/vnd.adobe.photoshop": "a Photoshop file",
    "video/quicktime": "a QuickTime (MOV) video",
    "video/x-m4v": "an M4V video",
    "video/webm": "a WebM video",
    "video/3gpp": "a 3GP video",
    "video/x-msvideo": "an AVI video",
    "video/x-matroska": "an MKV video",
    "application/pdf": "a PDF document",
    "application/zip": "a ZIP archive",
}

HEAD_BYTES = 8192
"""Enough of a file's start to tell its type."""
MAX_PIXELS = 60_000_000
"""A photo with more pixels than this is refused: a small file can decode to gigabytes."""


class MediaRefused(ValueError):
    """An upload we do not keep; the message says why, for the person who sent it."""


@dataclass(frozen=True)
class MediaLimits:
    """How much a person may send with one report or answer."""

    photo_bytes: int
    video_bytes: int
    files: int

    @classmethod
    def of(cls, settings: Settings) -> MediaLimits:
        """The limits the settings give."""
        return cls(
            photo_bytes=settings.max_photo_bytes,
            video_bytes=settings.max_video_bytes,
            files=settings.max_files_per_report,
        )

    def check_count(self, count: int) -> None:
        """Refuse more files than one report or answer may carry."""
        if count > self.files:
            raise MediaRefused(
                f"You chose {count} files; send at most {self.files} with one report."
            )


@dataclass(frozen=True)
class SafeMedia:
    """An upload's bytes with its location removed, ready for the blob store."""

    data: bytes
    content_type: str
    kind: FileKind
    name: str


def size_words(size: int) -> str:
    """A size as people read it: ``10 MB``, ``512 KB``."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:.0f} MB"
    return f"{max(1, round(size / 1000))} KB"


def safe_name(name: str) -> str:
    """The file's own name without any folder a browser sent, at most 200 characters."""
    base = PurePath(name.replace("\\", "/")).name.strip() or "file"
    return base[-200:]


def check_size(name: str, head: bytes, size: int, limits: MediaLimits) -> str:
    """The upload's type from its first bytes, when one of ours and within its size limit;
    raises ``MediaRefused`` saying why not. ``head``: at least the first 300 bytes."""
    name = safe_name(name)
    if not size:
        raise MediaRefused(f"{name} is empty; choose the photo or video again.")
    guess = filetype.guess(head)
    mime: str = guess.mime if guess is not None else ""
    if mime in PHOTO_TYPES:
        most, what = limits.photo_bytes, "photo"
    elif mime in VIDEO_TYPES:
        most, what = limits.video_bytes, "video"
    else:
        kind = _OTHER_TYPES.get(mime, "not a photo or video we can read")
        raise MediaRefused(f"{name} is {kind}; {TAKEN}.")
    if size > most:
        raise MediaRefused(
            f"{name} is {size_words(size)}; a {what} may be at most {size_words(most)}."
        )
    return mime


def make_safe(name: str, data: bytes, limits: MediaLimits) -> SafeMedia:
    """The upload as bytes safe to keep; raises ``MediaRefused`` saying why not.

    CPU-bound (it decodes photos): call it on a thread."""
    name = safe_name(name)
    mime = check_size(name, data[:HEAD_BYTES], len(data), limits)
    if mime in PHOTO_TYPES:
        return safe_photo(name, data, mime)
    return _safe_video(name, data)


def safe_photo(name: str, data: bytes, mime: str) -> SafeMedia:
    """A photo of type ``mime`` decoded and saved again without its EXIF and XMP (GPS,
    camera serials), upright; raises ``MediaRefused`` if it does not decode or is too many
    pixels. CPU-bound: call it on a thread."""
    unreadable = MediaRefused(f"{name} could not be read as a photo; {TAKEN}.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise MediaRefused(
                        f"{name} is {image.width} by {image.height} pixels; a photo may have "
                        f"at most {MAX_PIXELS // 1_000_000} million."
                    )
                image.load()
                icc = image.info.get("icc_profile")
                # Upright by its orientation tag: the tag goes with the rest of the EXIF.
                upright = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, MediaRefused):
            raise
        raise unreadable from None
    except Image.DecompressionBombWarning:
        raise unreadable from None
    kept = PHOTO_TYPES[mime]
    out = io.BytesIO()
    # Saved with no exif= and no xmp=: GPS, camera serials and the rest stay behind.
    if kept == "JPEG":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        upright.save(out, "JPEG", quality=90, icc_profile=icc)
        content_type = "image/jpeg"
    else:
        upright.save(out, "PNG", icc_profile=icc)
        content_type = "image/png"
    if mime == "image/heic":
        # Browsers do not show HEIC; the person's name keeps its stem.
        name = f"{PurePath(name).stem or 'photo'}.jpg"
    return SafeMedia(data=out.getvalue(), content_type=content_type, kind="photo", name=name)


# -- MP4 ---------------------------------------------------------------------------------------

_CONTAINERS = {b"moov", b"udta", b"trak", b"mdia", b"minf", b"meta", b"ilst"}
_LOCATION_ATOMS = {b"\xa9xyz", b"loci"}
_HEADER = struct.Struct(">I4s")


@dataclass(frozen=True)
class _Atom:
    name: bytes
    start: int
    header: int
    end: int


def _atoms(data: bytes | bytearray, start: int, end: int) -> Iterator[_Atom]:
    """The atoms between ``start`` and ``end``, depth first (containers, then what they
    hold)."""
    at = start
    while at + 8 <= end:
        size, name = _HEADER.unpack_from(data, at)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, at + 8)
            header = 16
        elif size == 0:
            size = end - at
        if size < header or at + size > end:
            raise MediaRefused("")
        atom = _Atom(name, at, header, at + size)
        yield atom
        if name in _CONTAINERS:
            inner = at + header
            # ISO ``meta`` is a full box (4 bytes of version and flags); QuickTime's is not.
            if name == b"meta" and data[inner : inner + 4] == b"\0\0\0\0":
                inner += 4
            yield from _atoms(data, inner, at + size)
        at += size


def _free(data: bytearray, atom: _Atom) -> None:
    """Overwrite ``atom`` with a ``free`` atom of the same size: nothing after it moves."""
    data[atom.start + 4 : atom.start + 8] = b"free"
    data[atom.start + atom.header : atom.end] = bytes(atom.end - atom.start - atom.header)


def _safe_video(name: str, data: bytes) -> SafeMedia:
    unreadable = MediaRefused(f"{name} could not be read as a video; {TAKEN}.")
    try:
        MP4(io.BytesIO(data))  # type: ignore[no-untyped-call]
    except (MutagenError, struct.error, ValueError):
        raise unreadable from None
    out = bytearray(data)
    try:
        for atom in list(_atoms(out, 0, len(out))):
            if atom.name in _LOCATION_ATOMS:
                _free(out, atom)
            elif atom.name == b"meta" and b"location" in out[atom.start : atom.end]:
                # Apple's keyed metadata names the location among its keys: all of it goes.
                _free(out, atom)
    except (MediaRefused, struct.error):
        raise unreadable from None
    return SafeMedia(data=bytes(out), content_type="video/mp4", kind="video", name=name)
