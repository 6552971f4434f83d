"""Grading artifacts in S3, handed out only through the web app after it has authorized the request.

The app lists a submission's contestant files, then either redirects the browser to a
short-lived presigned URL (S3 in AWS: the bytes never pass through the web hosts) or
streams the object itself (the local S3 stand-in, which only the containers can reach).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from gradestack_protocol.artifacts import CONTESTANT_FILES, contestant_prefix
from gradestack_protocol.messages import MessageError

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ArtifactObject:
    """An object being streamed: its size, type and body chunks (the body closes when exhausted)."""

    length: int
    content_type: str
    chunks: Iterator[bytes]


class ArtifactStore:
    def __init__(self, bucket: str, region: str, expires_seconds: int) -> None:
        self.bucket = bucket
        self.expires_seconds = expires_seconds
        # AWS_ENDPOINT_URL (moto locally) is honoured by boto3 itself.
        self._client = (
            boto3.client(
                "s3", region_name=region, config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2})
            )
            if bucket
            else None
        )

    @staticmethod
    def contestant_key(submission_id: str, prefix: str, name: str) -> str | None:
        """The object key a contestant may read, or None.

        Only the allow-listed files of the submission's own prefix: a result naming any
        other prefix (the staff-only ``results/_staff/``, another submission's) gets
        nothing; nor do files outside ``CONTESTANT_FILES``, such as the full
        ``summary.json`` that workers before the feedback policy stored there.
        """
        try:
            expected = contestant_prefix(submission_id)
        except MessageError:
            return None
        if prefix != expected or name not in CONTESTANT_FILES:
            return None
        return prefix + name

    def contestant_files(self, submission_id: str, prefix: str) -> list[str]:
        """Names of the contestant files present for the submission; empty when S3 is unavailable."""
        if not self._client or self.contestant_key(submission_id, prefix, CONTESTANT_FILES[0]) is None:
            return []
        try:
            listing = self._client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=20)
        except (BotoCoreError, ClientError) as exc:
            # Artifacts are a convenience: the verdict page must still render without them.
            log.warning("listing artifacts under s3://%s/%s failed: %s", self.bucket, prefix, exc)
            return []
        present = {item["Key"][len(prefix) :] for item in listing.get("Contents", [])}
        return [name for name in CONTESTANT_FILES if name in present]

    def presigned_url(self, key: str) -> str | None:
        if not self._client:
            return None
        try:
            return self._client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.expires_seconds
            )
        except (BotoCoreError, ClientError) as exc:
            log.warning("presigning s3://%s/%s failed: %s", self.bucket, key, exc)
            return None

    def open(self, key: str) -> ArtifactObject | None:
        """The object for streaming, or None when it does not exist or S3 is unavailable."""
        if not self._client:
            return None
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            log.warning("reading s3://%s/%s failed: %s", self.bucket, key, exc)
            return None
        body = response["Body"]

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(_CHUNK)
            finally:
                body.close()

        return ArtifactObject(int(response.get("ContentLength", 0)), str(response.get("ContentType", "")), chunks())
