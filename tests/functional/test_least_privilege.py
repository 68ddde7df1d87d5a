"""The IAM policy of docs/iam-backup-host-policy.json, enforced by moto's IAM: a host held to it
backs up and rotates its own prefix and cannot read or list another host's."""

import datetime
import json
import os

import boto3
import pytest
from botocore.exceptions import ClientError
from support import trees
from support.processes import MotoServer

from ansible_collections.s3napback.s3napback.plugins.module_utils.backup import run_backup
from ansible_collections.s3napback.s3napback.plugins.module_utils.probe import run_probe
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Connection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
POLICY = os.path.join(ROOT, "docs", "iam-backup-host-policy.json")
DAY = datetime.datetime(2026, 11, 2, 3, 0, tzinfo=datetime.timezone.utc)
SETUP_REQUESTS = 8  # moto lets this many requests through unsigned, then checks every one


def user_with_policy(iam, name: str, policy: dict) -> dict:
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    return iam.create_access_key(UserName=name)["AccessKey"]


def client(url, key, service="s3"):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


@pytest.fixture
def guarded():
    with MotoServer(env={"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_REQUESTS)}) as server:
        setup = client(server.url, {"AccessKeyId": "setup", "SecretAccessKey": "setup"})
        iam = client(server.url, {"AccessKeyId": "setup", "SecretAccessKey": "setup"}, "iam")
        setup.create_bucket(Bucket="fleet")
        with open(POLICY, encoding="utf-8") as handle:
            policy = json.loads(handle.read().replace("BUCKET", "fleet").replace("PREFIX", "web1"))
        host = user_with_policy(iam, "web1", policy)
        admin = user_with_policy(
            iam, "admin", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        )
        setup.put_object(Bucket="fleet", Key="web2/secret.txt", Body=b"another host's")  # request 8
        yield server, host, client(server.url, admin)


def test_a_host_held_to_the_policy_backs_up_and_rotates_its_own_prefix_only(tmp_path, make_request, guarded):
    server, host_key, admin = guarded
    source = tmp_path / "source"
    trees.build_tree(str(source))
    connection = Connection(
        access_key=host_key["AccessKeyId"],
        secret_key=host_key["SecretAccessKey"],
        region="us-east-1",
        endpoint_url=server.url,
    )
    request = make_request(source, bucket="fleet", prefix="web1", connection=connection, diffs=0, fulls=1)
    first = run_backup(request, now=DAY)
    second = run_backup(request, now=DAY + datetime.timedelta(days=1))
    made = ("key", "manifest_key", "index_key")
    assert sorted(second.rotated) == sorted(first.backup[k] for k in made)
    stored = sorted(o["Key"] for o in admin.list_objects_v2(Bucket="fleet")["Contents"])
    assert stored == sorted([*(second.backup[k] for k in made), "web2/secret.txt"])
    probed = run_probe(connection, "fleet", "web1")  # the store's probe, under the host's own prefix
    assert probed["ok"], probed
    assert sorted(o["Key"] for o in admin.list_objects_v2(Bucket="fleet")["Contents"]) == stored

    host = client(server.url, host_key)
    for what, attempt in {
        "read": lambda: host.get_object(Bucket="fleet", Key="web2/secret.txt"),
        "delete": lambda: host.delete_object(Bucket="fleet", Key="web2/secret.txt"),
        "plant": lambda: host.put_object(Bucket="fleet", Key="web2/planted.txt", Body=b"x"),
    }.items():
        with pytest.raises(ClientError, match="AccessDenied"):
            attempt()
            pytest.fail(f"the host could {what} another host's prefix")
    assert admin.get_object(Bucket="fleet", Key="web2/secret.txt")["Body"].read() == b"another host's"


def test_the_policy_lets_a_host_list_its_own_prefix_only():
    """moto does not evaluate the s3:prefix condition of ListBucket, so this part of the policy is
    checked as written: every listing grant is bound to the host's prefix."""
    with open(POLICY, encoding="utf-8") as handle:
        statements = json.load(handle)["Statement"]
    listing = [s for s in statements if s["Resource"] == "arn:aws:s3:::BUCKET" and "s3:ListBucket" in s["Action"]]
    assert listing and all(s["Condition"] == {"StringLike": {"s3:prefix": ["PREFIX/*"]}} for s in listing)
    objects = [s for s in statements if s["Resource"].startswith("arn:aws:s3:::BUCKET/")]
    assert all(s["Resource"] == "arn:aws:s3:::BUCKET/PREFIX/*" for s in objects)
