"""Photos and videos from the tenant, end to end through the real parts: the report form
and the tenant's link take them (multipart, no JavaScript), the blob store keeps them
without their location, the workflow holds references only, and owners, vendors and ops
see them through short-lived links. Every refusal is a readable page or a 4xx sentence."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.files.refs import FileRef
from opsdesk.files.store import S3Store, store_for
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.service import request_handle
from opsdesk.maintenance.status import Stage
from opsdesk.settings import Settings
from tests.files import samples
from tests.http import serve
from tests.maintenance.helpers import (
    LEAK,
    drive_to,
    link_for,
    link_for_stage,
    served_desk,
    waiting_for,
)

HTML = {"Accept": "text/html"}
OWNER = "owner@harborlane.example"
TENANT = "sam.rivera@example.com"
FIELDS = {
    "property_id": "harbor-12",
    "unit": "1A",
    "name": "Sam Rivera",
    "email": TENANT,
    "description": LEAK,
}
FILE_LINK = re.compile(r'src="http://[^/"]+(/files/[^"]+)"')


def _files(*files: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("photos", file) for file in files]


async def test_photos_go_from_the_tenant_to_owner_vendor_and_ops_by_reference(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    photo = samples.noisy_jpeg_with_location()
    video = samples.mp4_with_location()
    store = store_for(settings)
    async with served_desk(dev_env, db, settings) as http:
        sent = await http.post(
            "/report",
            data=FIELDS,
            files=_files(("sink.jpg", photo, "image/jpeg"), ("drip.mp4", video, "video/mp4")),
        )
        assert sent.status_code == 303, sent.text
        request_id = sent.headers["location"].split("?")[0].rsplit("/", 1)[1]
        handle = request_handle(dev_env.client, request_id)
        state = await waiting_for(handle, Stage.OWNER_APPROVAL)

        # The workflow holds references; the store holds the bytes, without a location.
        assert [(a.file.kind, a.file.name, a.role) for a in state.photos] == [
            ("photo", "sink.jpg", "tenant"),
            ("video", "drip.mp4", "tenant"),
        ]
        assert state.form.photos == [a.file for a in state.photos]
        assert "Reported by Sam Rivera (web form), with 1 photo and 1 video" in [
            e.event for e in state.timeline
        ]
        kept_photo = await store.get(state.photos[0].file.key)
        assert not samples.has_location(kept_photo)
        assert samples.ISO6709 not in await store.get(state.photos[1].file.key)
        history = (await handle.fetch_history()).to_json()
        assert len(history) < len(photo) // 2, "the photo's bytes went into the history"

        # The owner's email says how many; its link page shows both through short-lived
        # links that work.
        owner_link = await link_for(db, request_id, OWNER)
        async with db.transaction() as session:
            emails = (
                await session.scalars(
                    select(OutboxMessage.body_text).where(OutboxMessage.to_address == OWNER)
                )
            ).all()
        assert any("1 photo and 1 video; the link shows them" in text for text in emails)
        owner_page = await http.get(owner_link)
        assert owner_page.status_code == 200
        assert "Photos and videos from the tenant" in owner_page.text
        assert "<video controls" in owner_page.text
        assert "Sam Rivera with the report" in owner_page.text
        links = FILE_LINK.findall(owner_page.text)
        assert len(links) == 2
        shown = await http.get(links[0])
        assert shown.status_code == 200
        assert shown.headers["content-type"] == "image/jpeg"
        assert shown.content == kept_photo
        expired = store.url(state.photos[0].file, timedelta(seconds=-1))
        refused = await http.get(expired.removeprefix(settings.resolved_public_url), headers=HTML)
        assert refused.status_code == 410
        assert "This link to a file has expired" in refused.text

        # Ops see them on the request page.
        ops_page = await http.get(f"/maintenance/{request_id}", headers=HTML)
        assert ops_page.status_code == 200
        assert "data-files" in ops_page.text
        ops_links = FILE_LINK.findall(ops_page.text)
        assert len(ops_links) == 2
        assert (await http.get(ops_links[1])).content == await store.get(state.photos[1].file.key)
        # Next to the problem, before who was asked and the messages; outside the polled
        # parts, which show the rest of the page without them.
        text = ops_page.text
        assert text.index("data-facts") < text.index("data-files") < text.index("Who was asked")
        assert text.index("data-files") < text.index("Messages")
        for part in ("head", "rest"):
            fragment = await http.get(
                f"/fragments/maintenance/requests/{request_id}", params={"part": part}
            )
            assert fragment.status_code == 200
            assert "data-files" not in fragment.text
            assert ("data-facts" in fragment.text) == (part == "head")
            assert ("Who was asked" in fragment.text) == (part == "rest")

        # The tenant answers "when are you at home?" with one more photo, from the link.
        await drive_to(handle, Stage.AVAILABILITY, quote=20000)
        path = await link_for_stage(db, settings, request_id, TENANT, "availability")
        zone = ZoneInfo(state.premises.time_zone if state.premises else "UTC")
        tomorrow = (datetime.now(UTC).astimezone(zone) + timedelta(days=1)).date().isoformat()
        times = {"answer": "windows", "day0": tomorrow, "from0": "09:00", "to0": "12:00"}
        wrong = await http.post(path, data=times, files=_files(("stain.jpg", samples.gif(), "")))
        assert wrong.status_code == 422
        assert "stain.jpg is a GIF picture; we take JPEG, PNG or HEIC photos" in wrong.text
        assert "Choose your photos and videos again" in wrong.text
        assert 'value="09:00"' in wrong.text  # what was typed is kept
        stain = samples.heic_with_location()
        answered = await http.post(path, data=times, files=_files(("stain.heic", stain, "")))
        assert answered.status_code == 200, answered.text
        state = await waiting_for(handle, Stage.SLOT)
        added = state.photos[-1]
        assert (added.file.name, added.file.content_type, added.stage) == (
            "stain.jpg",
            "image/jpeg",
            Stage.AVAILABILITY,
        )
        assert any(e.event.endswith("gave 1 time window, with 1 photo") for e in state.timeline)

        # The vendor's link page shows all three.
        vendor_path = await link_for_stage(
            db, settings, request_id, "jobs@flowright.example", "slot"
        )
        vendor_page = await http.get(vendor_path)
        assert len(FILE_LINK.findall(vendor_page.text)) == 3
        assert "Sam Rivera with the tenant" in vendor_page.text


async def test_refusals_are_readable_pages_and_json_sentences(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings, directory: Directory
) -> None:
    small = settings.model_copy(
        update={
            "max_photo_bytes": 20_000,
            "max_files_per_report": 2,
            "max_upload_body_bytes": 2_000_000,
        }
    )
    photo = samples.jpeg_with_location()
    async with serve(create_app(small, dev_env.client)) as http:
        # The report form: a GIF named .jpg, a photo too big, too many files.
        cases = [
            (_files(("kitchen.jpg", samples.gif(), "image/jpeg")), "kitchen.jpg is a GIF picture"),
            (
                _files(("big.jpg", samples.noisy_jpeg_with_location(), "image/jpeg")),
                "a photo may be at most 20 KB",
            ),
            (_files(*[(f"{i}.jpg", photo, "image/jpeg") for i in range(3)]), "send at most 2"),
        ]
        for files, said in cases:
            page = await http.post("/report", data=FIELDS, files=files, headers=HTML)
            assert page.status_code == 422
            assert said in page.text
            assert "Choose your photos and videos again" in page.text
            assert LEAK in page.text  # what was typed is kept
            assert "Traceback" not in page.text

        # A body over the upload limit never reaches the form: a page says what to do.
        huge = _files(("all.jpg", bytes(2_100_000), "image/jpeg"))
        page = await http.post("/report", data=FIELDS, files=huge, headers=HTML)
        assert page.status_code == 413
        assert "larger than 2 MB together" in page.text
        assert "choose fewer or smaller ones" in page.text

        # The API: the same refusals as sentences, and references only from its upload.
        refused = await http.post(
            "/api/maintenance/files", files={"file": ("kitchen.jpg", samples.gif(), "image/jpeg")}
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["message"] == (
            "kitchen.jpg is a GIF picture; we take JPEG, PNG or HEIC photos and MP4 videos."
        )
        not_multipart = await http.post("/api/maintenance/files", json={"file": "x"})
        assert not_multipart.status_code == 415
        uploaded = await http.post(
            "/api/maintenance/files", files={"file": ("sink.jpg", photo, "image/jpeg")}
        )
        assert uploaded.status_code == 201, uploaded.text
        ref = FileRef.model_validate(uploaded.json())
        assert not samples.has_location(await store_for(small).get(ref.key))
        report = {
            "property_id": "harbor-12",
            "unit": "1A",
            "tenant": {"name": "Sam Rivera", "email": TENANT},
            "description": LEAK,
        }
        made_up = ref.model_copy(update={"key": "uploads/" + "0" * 64})
        as_html = ref.model_copy(update={"content_type": "text/html"})
        for bad, said in [
            ([made_up], "photos[0]: no file is kept under this key"),
            ([ref, as_html], "photos[1]: not a reference /api/maintenance/files gave"),
            ([ref, ref, ref], "photos: at most 2 files"),
        ]:
            created = await http.post(
                "/api/maintenance/requests",
                json={**report, "photos": [r.model_dump() for r in bad]},
            )
            assert created.status_code == 422, created.text
            assert said in created.json()["error"]["message"]
        created = await http.post(
            "/api/maintenance/requests", json={**report, "photos": [ref.model_dump()]}
        )
        assert created.status_code == 201, created.text
        answered = await http.post(
            f"/api/maintenance/requests/{created.json()['request_id']}/answers/completion",
            json={"fixed": True, "photos": [made_up.model_dump()]},
        )
        assert answered.status_code == 422
        assert "photos[0]: no file is kept under this key" in answered.json()["error"]["message"]


async def test_uploads_through_the_api_land_in_s3_without_their_location(
    dev_env: WorkflowEnvironment, s3_settings: Settings
) -> None:
    store = store_for(s3_settings)
    assert isinstance(store, S3Store)
    await store.ensure_bucket()
    async with serve(create_app(s3_settings, dev_env.client)) as http:
        uploaded = await http.post(
            "/api/maintenance/files",
            files={"file": ("leak.jpg", samples.jpeg_with_location(), "application/octet-stream")},
        )
        assert uploaded.status_code == 201, uploaded.text
    ref = FileRef.model_validate(uploaded.json())
    assert (ref.content_type, ref.kind, ref.name) == ("image/jpeg", "photo", "leak.jpg")
    kept = await store.get(ref.key)
    assert not samples.has_location(kept)
    async with httpx.AsyncClient() as web:
        shown = await web.get(store.url(ref, s3_settings.file_link_lifetime))
    assert shown.status_code == 200
    assert shown.content == kept
    assert io.BytesIO(kept).getbuffer().nbytes == ref.size
