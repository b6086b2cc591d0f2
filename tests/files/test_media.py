"""Uploads become safe bytes or a refusal in plain words: the type from the bytes, the
location gone from every kind we take."""

from __future__ import annotations

import io

import pytest
from mutagen.mp4 import MP4
from PIL import Image

from opsdesk.files.media import MediaLimits, MediaRefused, make_safe
from tests.files import samples

LIMITS = MediaLimits(photo_bytes=200_000, video_bytes=300_000, files=3)


@pytest.mark.parametrize(
    ("name", "data", "kept_as"),
    [
        ("kitchen.jpg", samples.jpeg_with_location(), "image/jpeg"),
        ("kitchen.png", samples.png_with_location(), "image/png"),
        ("kitchen.HEIC", samples.heic_with_location(), "image/jpeg"),
    ],
    ids=["jpeg", "png", "heic"],
)
def test_a_photo_loses_its_location_and_stays_upright(name: str, data: bytes, kept_as: str) -> None:
    assert samples.has_location(data)
    safe = make_safe(name, data, LIMITS)
    assert safe.content_type == kept_as
    assert safe.kind == "photo"
    assert not samples.has_location(safe.data)
    shown = Image.open(io.BytesIO(safe.data))
    assert shown.size == (20, 40)  # turned by its orientation tag, which went with the EXIF
    assert not shown.getexif()
    assert safe.name == ("kitchen.jpg" if name.endswith("HEIC") else name)


def test_a_video_loses_its_location_and_still_plays() -> None:
    video = samples.mp4_with_location()
    assert samples.ISO6709 in video
    safe = make_safe("leak under sink.mp4", video, LIMITS)
    assert (safe.content_type, safe.kind) == ("video/mp4", "video")
    assert samples.ISO6709 not in safe.data
    assert b"location" not in safe.data
    assert len(safe.data) == len(video)  # freed in place: no offset moved
    played = MP4(io.BytesIO(safe.data))  # type: ignore[no-untyped-call]
    assert played.info is not None
    assert played.info.length == 2.0


def test_refusals_name_the_file_and_what_we_take() -> None:
    with pytest.raises(MediaRefused) as refused:
        make_safe("kitchen.jpg", samples.gif(), LIMITS)
    assert str(refused.value) == (
        "kitchen.jpg is a GIF picture; we take JPEG, PNG or HEIC photos and MP4 videos."
    )
    with pytest.raises(MediaRefused, match=r"notes\.txt is not a photo or video we can read"):
        make_safe("C:\\Users\\sam\\notes.txt", b"just words", LIMITS)
    big = samples.jpeg_with_location(1500, 1500) + bytes(200_000)
    with pytest.raises(MediaRefused, match="a photo may be at most 200 KB"):
        make_safe("big.jpg", big, LIMITS)
    with pytest.raises(MediaRefused, match=r"broken\.jpg could not be read as a photo"):
        make_safe("broken.jpg", samples.jpeg_with_location()[:40], LIMITS)
    with pytest.raises(MediaRefused, match="send at most 3"):
        LIMITS.check_count(4)
    LIMITS.check_count(3)
