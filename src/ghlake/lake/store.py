"""The lake's object store: MinIO (or any S3) through the ``minio`` SDK.

This is the lake's one seam to storage. Errors are translated here: an
unreachable or overloaded service is :class:`TransientStorageError` (the writer
retries), a refusal is :class:`StorageError` (terminal).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass

import urllib3
from minio import Minio
from minio.error import S3Error, ServerError

from ghlake.errors import StorageError, TransientStorageError
from ghlake.settings import Settings

__all__ = ["ObjectInfo", "ObjectStore"]

_TRANSIENT_S3_CODES = {
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "XMinioServerNotInitialized",
}
# Everything the SDK raises for a failed call: S3 error documents, bodiless HTTP
# errors (a HEAD answered 503 while the server starts), connection failures.
_STORE_ERRORS = (S3Error, ServerError, urllib3.exceptions.HTTPError, OSError)


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object."""

    key: str
    size: int


class ObjectStore:
    """A bucket of the lake."""

    def __init__(self, client: Minio, bucket: str, pool: urllib3.PoolManager | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self._pool = pool

    @classmethod
    def from_settings(cls, settings: Settings) -> ObjectStore:
        """Connect to the configured MinIO with short timeouts and no hidden retries."""
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=30.0),
            retries=urllib3.Retry(total=0, connect=0, read=0, redirect=0),
            maxsize=8,
        )
        client = Minio(
            settings.minio.endpoint,
            access_key=settings.minio_access_key,
            secret_key=settings.minio_secret_key,
            secure=settings.minio.secure,
            region=settings.minio.region,
            http_client=http,
        )
        return cls(client, settings.minio.bucket, http)

    def close(self) -> None:
        """Close the pooled connections."""
        if self._pool is not None:
            self._pool.clear()

    def _translate(self, action: str, exc: Exception) -> StorageError:
        if isinstance(exc, S3Error):
            if exc.code in _TRANSIENT_S3_CODES:
                return TransientStorageError(f"{action} in bucket {self.bucket}: {exc.code}")
            return StorageError(
                f"{action} in bucket {self.bucket} refused: {exc.code} {exc.message}"
            )
        if isinstance(exc, ServerError) and exc.status_code < 500:
            return StorageError(f"{action} in bucket {self.bucket} refused: {exc}")
        return TransientStorageError(f"{action} in bucket {self.bucket}: {exc}")

    def ensure_bucket(self, wait_seconds: float = 30.0) -> bool:
        """Create the bucket if needed; True when it was created.

        A server that has just started may answer 503 for a few seconds while it
        initializes its storage; transient errors are retried for ``wait_seconds``.
        """
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                if self.client.bucket_exists(self.bucket):
                    return False
                self.client.make_bucket(self.bucket)
                return True
            except _STORE_ERRORS as exc:
                error = self._translate("creating the bucket", exc)
                if not isinstance(error, TransientStorageError) or time.monotonic() > deadline:
                    raise error from exc
            time.sleep(0.25)

    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store ``data`` under ``key``; the object appears whole or not at all."""
        try:
            self.client.put_object(
                self.bucket, key, io.BytesIO(data), len(data), content_type=content_type
            )
        except _STORE_ERRORS as exc:
            raise self._translate(f"writing {key}", exc) from exc

    def get(self, key: str, offset: int = 0, length: int = 0) -> bytes:
        """The object's bytes: all of them, or ``length`` from ``offset`` (fewer at its end)."""
        try:
            response = self.client.get_object(self.bucket, key, offset=offset, length=length)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()
        except _STORE_ERRORS as exc:
            raise self._translate(f"reading {key}", exc) from exc

    def get_if_exists(self, key: str) -> bytes | None:
        """The whole object, or None when there is no such key."""
        try:
            return self.get(key)
        except StorageError as exc:
            if isinstance(exc.__cause__, S3Error) and exc.__cause__.code == "NoSuchKey":
                return None
            raise

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object under ``prefix``, recursively."""
        try:
            for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                if item.object_name is not None and not item.is_dir:
                    yield ObjectInfo(item.object_name, item.size or 0)
        except _STORE_ERRORS as exc:
            raise self._translate(f"listing {prefix}", exc) from exc

    def delete(self, key: str) -> None:
        """Remove ``key`` (no error when it is absent)."""
        try:
            self.client.remove_object(self.bucket, key)
        except _STORE_ERRORS as exc:
            raise self._translate(f"deleting {key}", exc) from exc

    def healthy(self) -> bool:
        """Whether the bucket answers."""
        try:
            return bool(self.client.bucket_exists(self.bucket))
        except _STORE_ERRORS:
            return False
