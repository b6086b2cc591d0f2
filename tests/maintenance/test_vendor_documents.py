"""Uploading a vendor's certificate through the JSON API and the dashboard's form: the type
is read from the bytes, refusals are sentences (JSON for programs, the page again for a
person), the file is kept in the blob store (the folder, and once S3) and shown through a
short-lived link, and the new document is the current one of its kind."""

from __future__ import annotations

from datetime import date

import httpx

from opsdesk.access.roles import Role
from opsdesk.app import create_app
from opsdesk.files.store import S3Store, store_for
from opsdesk.maintenance.directory import Directory
from opsdesk.settings import Settings
from tests.http import serve
from tests.staff import bearer

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,"
RENEWED = "2028-06-30"


def upload(
    kind: str = "general_liability", expires_on: str = RENEWED, **extra: str
) -> dict[str, str]:
    return {"kind": kind, "expires_on": expires_on, **extra}


async def test_a_certificate_uploaded_through_the_api_becomes_current_with_a_link(
    settings: Settings, directory: Directory
) -> None:
    async with serve(create_app(settings)) as api:
        sent = await api.post(
            "/api/maintenance/vendors/ven-flow/documents",
            data=upload(number="GL-2028-77", issuer="Golden Gate Mutual"),
            files={"file": ("certificate.pdf", PDF, "application/octet-stream")},
        )
        assert sent.status_code == 201, sent.text
        filed = sent.json()
        assert (filed["kind"], filed["expires_on"], filed["current"]) == (
            "general_liability", RENEWED, True,
        )  # fmt: skip
        # The type the bytes show, not the one the client claimed.
        assert filed["file"]["content_type"] == "application/pdf"
        assert filed["uploaded_by"] == "ops"
        shown = await api.get(filed["url"].removeprefix(settings.resolved_public_url))
        assert shown.status_code == 200
        assert shown.content == PDF

        listed = (await api.get("/api/maintenance/vendors")).json()["items"]
        flow = next(v for v in listed if v["id"] == "ven-flow")
        assert {d["kind"]: d["expires_on"] for d in flow["documents"]}["general_liability"] == (
            RENEWED
        )
        documents = (await api.get("/api/maintenance/vendors/ven-flow/documents")).json()["items"]
        current = [d for d in documents if d["kind"] == "general_liability" and d["current"]]
        assert [d["id"] for d in current] == [filed["id"]]
        assert len([d for d in documents if d["kind"] == "general_liability"]) == 2

        # Refusals: a sentence each, never a 500.
        wrong = await api.post(
            "/api/maintenance/vendors/ven-flow/documents",
            data=upload(),
            files={"file": ("certificate.pdf", GIF, "application/pdf")},
        )
        assert wrong.status_code == 415
        assert wrong.json()["error"]["message"] == (
            "File: the document must be a PDF, JPEG or PNG (it looks like a GIF file); scan "
            "or save it as one of those and upload it again"
        )
        no_date = await api.post(
            "/api/maintenance/vendors/ven-flow/documents",
            data=upload(expires_on="30/06/2028"),
            files={"file": ("c.pdf", PDF, "application/pdf")},
        )
        assert no_date.status_code == 422
        assert "give a date such as 2027-06-30" in no_date.json()["error"]["message"]
        for typed, why in (
            ("0001-01-01", "Expires on: give a date between 2000 and 2100; check the year"),
            ("2101-01-01", "Expires on: give a date between 2000 and 2100; check the year"),
            (
                "2020-01-01",
                "Expires on: that date has passed: upload the renewed document with its new "
                "expiry date",
            ),
        ):
            out_of_range = await api.post(
                "/api/maintenance/vendors/ven-flow/documents",
                data=upload(expires_on=typed),
                files={"file": ("c.pdf", PDF, "application/pdf")},
            )
            assert out_of_range.status_code == 422
            assert out_of_range.json()["error"]["message"] == why
        unknown = await api.post(
            "/api/maintenance/vendors/ven-nobody/documents",
            data=upload(),
            files={"file": ("c.pdf", PDF, "application/pdf")},
        )
        assert unknown.status_code == 404
        assert (
            unknown.json()["error"]["message"] == "there is no vendor 'ven-nobody' in the directory"
        )
        as_json = await api.post(
            "/api/maintenance/vendors/ven-flow/documents", json={"kind": "licence"}
        )
        assert as_json.status_code == 415
        viewer = await bearer(api._transport.app, Role.VIEWER)  # type: ignore[attr-defined]
        refused = await api.post(
            "/api/maintenance/vendors/ven-flow/documents",
            data=upload(),
            files={"file": ("c.pdf", PDF, "application/pdf")},
            headers=viewer,
        )
        assert refused.status_code == 403


async def test_a_wrong_file_on_the_page_shows_the_page_again_with_why_and_what_was_typed(
    settings: Settings, directory: Directory
) -> None:
    async with serve(create_app(settings)) as site:
        refused = await site.post(
            "/maintenance/vendors/ven-volt/documents",
            data=upload("licence", number="C10-555"),
            files={"file": ("licence.pdf", GIF, "application/pdf")},
            headers={"Accept": "text/html"},
        )
        assert refused.status_code == 415
        page = refused.text
        assert "File: the document must be a PDF, JPEG or PNG (it looks like a GIF file)" in page
        assert 'value="C10-555"' in page
        assert '<option value="licence" selected>' in page
        assert "Traceback" not in page
        past = await site.post(
            "/maintenance/vendors/ven-volt/documents",
            data=upload("licence", expires_on="2020-01-01"),
            files={"file": ("licence.pdf", PDF, "application/pdf")},
            headers={"Accept": "text/html"},
        )
        assert past.status_code == 422
        assert "that date has passed: upload the renewed document" in past.text
        filed = await site.post(
            "/maintenance/vendors/ven-volt/documents",
            data=upload("licence", number="C10-555"),
            files={"file": ("licence.pdf", PDF, "application/pdf")},
            headers={"Accept": "text/html"},
        )
        assert filed.status_code == 303
        assert filed.headers["location"] == "/maintenance/vendors/ven-volt#documents"
        page = (
            await site.get("/maintenance/vendors/ven-volt", headers={"Accept": "text/html"})
        ).text
        assert "Filed Volt Electric&#39;s licence, valid until Fri 30 Jun 2028." in page
        assert "C10-555" in page
        missing = await site.get("/maintenance/vendors/ven-nobody", headers={"Accept": "text/html"})
        assert missing.status_code == 404
        assert "There is no vendor" in missing.text


async def test_an_upload_through_the_api_is_kept_in_s3_and_linked_by_a_presigned_url(
    s3_settings: Settings, directory: Directory
) -> None:
    store = store_for(s3_settings)
    assert isinstance(store, S3Store)
    await store.ensure_bucket()
    async with serve(create_app(s3_settings)) as api:
        sent = await api.post(
            "/api/maintenance/vendors/ven-warm/documents",
            data=upload("workers_comp"),
            files={"file": ("wc.pdf", PDF, "application/pdf")},
        )
        assert sent.status_code == 201, sent.text
        filed = sent.json()
    assert filed["file"]["key"].startswith("vendors/ven-warm/")
    assert await store.get(filed["file"]["key"]) == PDF
    assert filed["url"].startswith(s3_settings.s3_endpoint_url)
    async with httpx.AsyncClient() as outside:
        fetched = await outside.get(filed["url"])
    assert fetched.status_code == 200
    assert fetched.content == PDF
    assert date.fromisoformat(filed["expires_on"]) == date(2028, 6, 30)
