"""Both blob stores through their real parts: the folder under the data directory served by
the API's signed ``/files`` links, and boto3 against an S3-compatible server on loopback."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from opsdesk.app import create_app
from opsdesk.files.refs import FileRef
from opsdesk.files.store import BlobMissing, FolderStore, S3Store, store_for
from opsdesk.settings import Settings
from tests.http import serve

PHOTO = b"\xff\xd8\xff\xe0" + b"not really a kitchen" * 50


async def test_the_folder_store_keeps_bytes_by_content_and_links_expire(
    settings: Settings,
) -> None:
    store = store_for(settings)
    assert isinstance(store, FolderStore)
    ref = await store.put("requests/r-0007", PHOTO, "image/jpeg", name="kitchen sink.jpg")
    again = await store.put("requests/r-0007", PHOTO, "image/jpeg", name="kitchen sink.jpg")
    assert again == ref  # a retried upload is one blob
    assert ref.size == len(PHOTO)
    assert (settings.data_dir / "files").exists()
    assert await store.get(ref.key) == PHOTO
    with pytest.raises(BlobMissing):
        await store.get("requests/r-0007/" + "0" * 64)

    app = create_app(settings)
    async with serve(app) as http:
        link = store.url(ref, timedelta(minutes=5))
        assert link.startswith(settings.resolved_public_url + "/files/")
        shown = await http.get(link.removeprefix(settings.resolved_public_url))
        assert shown.status_code == 200
        assert shown.content == PHOTO
        assert shown.headers["content-type"] == "image/jpeg"
        assert "kitchen%20sink.jpg" in shown.headers["content-disposition"]

        expired = store.url(ref, timedelta(seconds=-1)).removeprefix(settings.resolved_public_url)
        refused = await http.get(expired, headers={"accept": "text/html"})
        assert refused.status_code == 410
        assert "expired" in refused.text
        assert "Traceback" not in refused.text

        forged = link.removeprefix(settings.resolved_public_url)[:-4] + "AAAA"
        refused = await http.get(forged, headers={"accept": "text/html"})
        assert refused.status_code == 404
        assert "not one of ours" in refused.text


async def test_the_s3_store_keeps_bytes_in_its_bucket_and_presigns_short_links(
    s3_settings: Settings,
) -> None:
    store = store_for(s3_settings)
    assert isinstance(store, S3Store)
    await store.ensure_bucket()
    ref = await store.put("requests/r-0008", PHOTO, "image/jpeg", name="leak.jpg")
    assert ref == FileRef(
        key=ref.key, content_type="image/jpeg", size=len(PHOTO), name="leak.jpg", kind="photo"
    )
    assert await store.get(ref.key) == PHOTO
    with pytest.raises(BlobMissing):
        await store.get("requests/r-0008/" + "0" * 64)
    link = store.url(ref, timedelta(minutes=5))
    assert link.startswith(s3_settings.s3_endpoint_url or "")
    assert "X-Amz-Expires=300" in link
    async with httpx.AsyncClient() as http:
        shown = await http.get(link)
        assert shown.status_code == 200
        assert shown.content == PHOTO
        assert shown.headers["content-type"] == "image/jpeg"
