"""roles/terraform_state: the state bucket exists with the protections the role promises, and the backend fact."""

import json

import pytest

from testsupport.molecule_scenario import aws, facts

ACCOUNT = "123456789012"  # moto's account
BUCKET = f"gradestack-molecule-tfstate-{ACCOUNT}"


@pytest.fixture(scope="module")
def s3():
    return aws("s3")


def test_backend_fact_names_the_derived_bucket():
    assert facts() == {
        "aws_account_id": ACCOUNT,
        "terraform_state_backend": {
            "bucket": BUCKET,
            "key": "gradestack/molecule/terraform.tfstate",
            "region": "ap-northeast-2",
            "encrypt": True,
            "use_lockfile": True,
        },
    }


def test_bucket_in_the_region(s3):
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "ap-northeast-2"


def test_versioned(s3):
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"


def test_encrypted(s3):
    rules = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_public_access_blocked(s3):
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }


def test_owner_enforced(s3):
    rules = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_policy_denies_plain_http(s3):
    statement = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert statement == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_tagged(s3):
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]}
    assert tags == {
        "Project": "gradestack",
        "Environment": "molecule",
        "ManagedBy": "ansible",
        "Purpose": "terraform-state",
    }
