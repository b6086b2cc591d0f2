"""Photos and videos that carry a location, made in memory, for the upload tests."""

from __future__ import annotations

import io
import struct

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

LATITUDE = (52.0, 31.0, 12.0)
ISO6709 = b"+52.5200+013.4050/"


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: shown upright, the picture is tall
    exif[0x8825] = {1: "N", 2: LATITUDE, 3: "E", 4: (13.0, 24.0, 1.0)}
    return exif


def _picture(width: int = 40, height: int = 20) -> Image.Image:
    return Image.new("RGB", (width, height), (200, 40, 40))


def jpeg_with_location(width: int = 40, height: int = 20) -> bytes:
    out = io.BytesIO()
    _picture(width, height).save(out, "JPEG", exif=_exif())
    return out.getvalue()


def png_with_location() -> bytes:
    out = io.BytesIO()
    _picture().save(out, "PNG", exif=_exif())
    return out.getvalue()


def heic_with_location() -> bytes:
    out = io.BytesIO()
    _picture().save(out, "HEIF", exif=_exif().tobytes())
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    _picture().save(out, "GIF")
    return out.getvalue()


def has_location(photo: bytes) -> bool:
    exif = Image.open(io.BytesIO(photo)).getexif()
    return bool(exif.get_ifd(0x8825)) or 0x8825 in exif


def _atom(name: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), name) + payload


def mp4_with_location() -> bytes:
    """A small MP4 (no frames) that says where it was filmed, the way phones do: Android's
    ``udta/©xyz`` and Apple's keyed ``meta``."""
    mvhd = _atom(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, 2000)
        + struct.pack(">IH10x", 0x00010000, 0x0100)
        + struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
        + bytes(24)
        + struct.pack(">I", 2),
    )
    xyz = _atom(b"\xa9xyz", struct.pack(">HH", len(ISO6709), 0x15C7) + ISO6709)
    key = b"com.apple.quicktime.location.ISO6709"
    keys = _atom(b"keys", struct.pack(">II", 0, 1) + _atom(b"mdta", key))
    item = _atom(struct.pack(">I", 1), _atom(b"data", struct.pack(">II", 1, 0) + ISO6709))
    meta = _atom(
        b"meta", _atom(b"hdlr", bytes(8) + b"mdta" + bytes(13)) + keys + _atom(b"ilst", item)
    )
    moov = _atom(b"moov", mvhd + _atom(b"udta", xyz) + meta)
    ftyp = _atom(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41")
    return ftyp + moov + _atom(b"mdat", b"\0" * 64)


def noisy_jpeg_with_location(width: int = 1200, height: int = 900) -> bytes:
    """A photo that does not compress away (hundreds of KB): its bytes would show in
    anything that carried them."""
    out = io.BytesIO()
    Image.effect_noise((width, height), 80).convert("RGB").save(out, "JPEG", exif=_exif())
    return out.getvalue()
