"""pytest fixtures shared by the functional and integration tests: a real S3 server, real keys."""

from __future__ import annotations

import uuid

import boto3
import pytest

from .db_servers import MariaDB, PostgreSQL
from .keys import make_keys
from .processes import MotoServer

ACCESS_KEY = "AKIAS3NAPBACKTESTING"
SECRET_KEY = "s3napback-test-secret-9f2c1e7a4b"


def client_for(url: str):
    return boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1"
    )


@pytest.fixture(scope="session")
def moto():
    with MotoServer() as server:
        yield server


@pytest.fixture(scope="session")
def s3(moto):
    return client_for(moto.url)


@pytest.fixture
def bucket(s3):
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    made = make_keys(str(tmp_path_factory.mktemp("keys")))
    yield made
    made.stop_agents()


@pytest.fixture(scope="session")
def mariadb():
    server = MariaDB().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgresql():
    server = PostgreSQL().start()
    yield server
    server.stop()


def bucket_contents(s3, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def open_uploads(s3, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
