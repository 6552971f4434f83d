"""Links to grading artifacts in S3: short-lived presigned URLs, never public objects."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from gradestack_protocol.artifacts import CONTESTANT_FILES, contestant_prefix
from gradestack_protocol.messages import MessageError

log = logging.getLogger(__name__)


class ArtifactLinks:
    def __init__(self, bucket: str, region: str, expires_seconds: int, public_base_url: str = "") -> None:
        self.bucket = bucket
        self.expires_seconds = expires_seconds
        self.public_base_url = public_base_url.rstrip("/")
        # AWS_ENDPOINT_URL (moto locally) is honoured by boto3 itself.
        self._client = (
            boto3.client(
                "s3", region_name=region, config=Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2})
            )
            if bucket
            else None
        )

    def links(self, prefix: str, limit: int = 20) -> list[tuple[str, str]]:
        """(file name, presigned URL) for the objects under ``prefix``; empty when S3 is unavailable."""
        if not self._client or not prefix:
            return []
        try:
            listing = self._client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=limit)
            return [
                (
                    item["Key"][len(prefix) :].lstrip("/") or item["Key"],
                    self._public(
                        self._client.generate_presigned_url(
                            "get_object",
                            Params={"Bucket": self.bucket, "Key": item["Key"]},
                            ExpiresIn=self.expires_seconds,
                        )
                    ),
                )
                for item in listing.get("Contents", [])
            ]
        except (BotoCoreError, ClientError) as exc:
            # Artifacts are a convenience: the verdict page must still render without them.
            log.warning("listing artifacts under s3://%s/%s failed: %s", self.bucket, prefix, exc)
            return []

    def contestant_links(self, submission_id: str, prefix: str) -> list[tuple[str, str]]:
        """The links a contestant may follow: the allow-listed files of the submission's own prefix.

        A result naming any other prefix (the staff-only ``results/_staff/``, another
        submission's) gets no links; nor do files outside ``CONTESTANT_FILES``, such as
        the full ``summary.json`` that workers before the feedback policy stored there.
        """
        try:
            expected = contestant_prefix(submission_id)
        except MessageError:
            return []
        if prefix != expected:
            return []
        return [(name, url) for name, url in self.links(prefix) if name in CONTESTANT_FILES]

    def _public(self, url: str) -> str:
        """The link as a browser must follow it.

        In AWS that is the presigned URL itself. The local environment's S3 is moto
        at a container name (http://aws:5000) that only the containers resolve, so
        its links keep their path and signed query but go through the public base
        (the load balancer, which forwards that prefix to moto). moto does not check
        the signature against the host, as S3 would: a base is for stand-ins only,
        and the cloud environments leave it unset.
        """
        if not self.public_base_url:
            return url
        parts = urlsplit(url)
        return f"{self.public_base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
