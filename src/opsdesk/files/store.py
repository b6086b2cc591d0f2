"""Blob stores: a folder under the data directory on a laptop, any S3-compatible service in
production (``OPSDESK_BLOB_STORE=s3``). Both keep bytes by content hash and hand pages a
short-lived signed URL, never a path or a standing link.

The S3 client (boto3) is synchronous; its calls run on a thread so an upload never stalls
the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from datetime import timedelta
from pathlib import Path
from typing import Any

from opsdesk.files.refs import FileKind, FileRef
from opsdesk.files.signing import FileSigner
from opsdesk.settings import Settings


class BlobMissing(LookupError):
    """No blob under this key (deleted, or never stored here)."""


class BlobStore(ABC):
    """Where file bytes live."""

    async def put(
        self, prefix: str, data: bytes, content_type: str, name: str = "", kind: FileKind = "photo"
    ) -> FileRef:
        """Store ``data`` under ``prefix`` and return its claim check."""
        key = f"{prefix.strip('/')}/{hashlib.sha256(data).hexdigest()}"
        await self._write(key, data, content_type)
        return FileRef(key=key, content_type=content_type, size=len(data), name=name, kind=kind)

    @abstractmethod
    async def _write(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    async def get(self, key: str) -> bytes:
        """The bytes under ``key``; raises ``BlobMissing``."""

    @abstractmethod
    def url(self, ref: FileRef, lifetime: timedelta) -> str:
        """A link that shows the file for ``lifetime``, to anyone who has it."""


class FolderStore(BlobStore):
    """Blobs as files under ``root``; links go through the API's ``/files/<token>``."""

    def __init__(self, root: Path, signer: FileSigner) -> None:
        self.root = root
        self.signer = signer

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*key.split("/"))

    async def _write(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write_now, self._path(key), data)

    @staticmethod
    def _write_now(path: Path, data: bytes) -> None:
        if path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a crash mid-write never leaves half a photo.
        fd, partial = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        Path(partial).replace(path)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise BlobMissing(key) from None

    def url(self, ref: FileRef, lifetime: timedelta) -> str:
        return self.signer.url(ref, lifetime)


class S3Store(BlobStore):
    """Blobs as objects in one S3 bucket; links are S3's own presigned URLs."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket

    async def _write(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> bytes:
        try:
            answer = await asyncio.to_thread(self._client.get_object, Bucket=self.bucket, Key=key)
        except self._client.exceptions.NoSuchKey:
            raise BlobMissing(key) from None
        body: bytes = await asyncio.to_thread(answer["Body"].read)
        return body

    def url(self, ref: FileRef, lifetime: timedelta) -> str:
        params: dict[str, str] = {
            "Bucket": self.bucket,
            "Key": ref.key,
            "ResponseContentType": ref.content_type,
        }
        if ref.name:
            params["ResponseContentDisposition"] = FileSigner.disposition(ref)
        url: str = self._client.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=int(lifetime.total_seconds())
        )
        return url

    async def ensure_bucket(self) -> None:
        """Create the bucket when it is missing (a laptop's or a test's S3 server); a
        production bucket is made by whoever owns the account."""

        def ensure() -> None:
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except self._client.exceptions.ClientError:
                self._client.create_bucket(Bucket=self.bucket)

        await asyncio.to_thread(ensure)


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client from settings; credentials not set here come from boto3's usual
    chain (environment, shared files, an instance role)."""
    import boto3  # noqa: PLC0415 - only an S3 deployment pays for importing it
    from botocore.config import Config  # noqa: PLC0415

    secret = settings.s3_secret_access_key
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}),
    )


def blob_store(settings: Settings, signer: FileSigner) -> BlobStore:
    """The store the settings name."""
    if settings.blob_store == "s3":
        assert settings.s3_bucket is not None  # the settings refuse s3 without a bucket
        return S3Store(s3_client(settings), settings.s3_bucket)
    return FolderStore(settings.data_dir / "files", signer)


def store_for(settings: Settings) -> BlobStore:
    """The store, with folder links signed by the link key (the API and the worker read the
    same key, so either may hand out a link)."""
    from opsdesk.notify.signing import link_key  # noqa: PLC0415 - keeps files below notify

    return blob_store(settings, FileSigner(link_key(settings), settings.resolved_public_url))
