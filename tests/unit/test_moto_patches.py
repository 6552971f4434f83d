"""The emulator's own fixes (scripts/moto_server.py) against a real moto server: each is what lets a
deploy, verify or destroy step of the emulated path finish, so a moto upgrade that changes the
behaviour they paper over must fail here first, not as a hang in tests/aws."""

from __future__ import annotations

import boto3
import pytest

from testsupport.moto import MotoServer


@pytest.fixture
def s3(moto_server: MotoServer):
    return boto3.client(
        "s3",
        endpoint_url=moto_server.endpoint,
        region_name="ap-northeast-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - moto accepts any
    )


def test_a_versioned_bucket_with_a_deleted_object_empties_and_goes(s3) -> None:
    """verify's S3 canary leaves a version and a delete marker. On destroy Terraform first suspends
    versioning (destroying aws_s3_bucket_versioning), then force_destroy deletes every listed version;
    moto 5.2 then drops the key's whole version list and answered 500 on the marker: the destroy hung."""
    bucket = "gradestack-test-delete-marker"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="verify/canary", Body=b"canary")
    s3.delete_object(Bucket=bucket, Key="verify/canary")

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})

    listing = s3.list_object_versions(Bucket=bucket)
    assert len(listing["Versions"]) == 1 and len(listing["DeleteMarkers"]) == 1, listing
    versions = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in listing["Versions"] + listing["DeleteMarkers"]]
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": versions, "Quiet": True})
    assert not deleted.get("Errors"), deleted

    listing = s3.list_object_versions(Bucket=bucket)
    assert "Versions" not in listing and "DeleteMarkers" not in listing, listing
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
