"""Links to grading artifacts in S3: short-lived presigned URLs, never public objects."""

from __future__ import annotations

import logging

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

log = logging.getLogger(__name__)


class ArtifactLinks:
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

    def links(self, prefix: str, limit: int = 20) -> list[tuple[str, str]]:
        """(file name, presigned URL) for the objects under ``prefix``; empty when S3 is unavailable."""
        if not self._client or not prefix:
            return []
        try:
            listing = self._client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=limit)
            return [
                (
                    item["Key"][len(prefix) :].lstrip("/") or item["Key"],
                    self._client.generate_presigned_url(
                        "get_object", Params={"Bucket": self.bucket, "Key": item["Key"]}, ExpiresIn=self.expires_seconds
                    ),
                )
                for item in listing.get("Contents", [])
            ]
        except (BotoCoreError, ClientError) as exc:
            # Artifacts are a convenience: the verdict page must still render without them.
            log.warning("listing artifacts under s3://%s/%s failed: %s", self.bucket, prefix, exc)
            return []
