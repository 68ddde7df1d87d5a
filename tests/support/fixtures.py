"""pytest fixtures shared by the functional and integration tests: a real S3 server, real keys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import boto3
import pytest

from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Connection

from .db_servers import MariaDB, PostgreSQL
from .keys import make_keys
from .processes import MotoServer, S3rverServer
from .tls import make_ca_and_server_cert

ACCESS_KEY = "AKIAS3NAPBACKTESTING"
SECRET_KEY = "s3napback-test-secret-9f2c1e7a4b"


def client_for(url: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, verify=None):
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        verify=verify,
    )


def engine_connection(url: str, **settings) -> Connection:
    """The engine's connection to ``url`` with the tests' credentials, as ``client_for`` is boto3's;
    ``settings``: any other field of Connection (timeout, attempts, checksum_calculation...)."""
    return Connection(access_key=ACCESS_KEY, secret_key=SECRET_KEY, region="us-east-1", endpoint_url=url, **settings)


@dataclass(frozen=True)
class TlsStore:
    """An S3 server reached over HTTPS with a certificate from a private CA, as users reach theirs."""

    name: str
    url: str
    ca: str  # the CA bundle that verifies the server's certificate
    access_key: str
    secret_key: str

    def client(self):
        return client_for(self.url, self.access_key, self.secret_key, verify=self.ca)

    def new_bucket(self) -> str:
        name = f"tls-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def connection_options(self) -> dict:
        """The module's (and config file's) options that reach this store."""
        return {
            "endpoint_url": self.url,
            "region": "us-east-1",
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "aws_ca_bundle": self.ca,
        }


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return make_ca_and_server_cert(str(tmp_path_factory.mktemp("tls")))


@pytest.fixture(scope="session")
def moto_tls(tls_files):
    with MotoServer(tls=tls_files) as server:
        yield TlsStore("moto", server.url, tls_files.ca, ACCESS_KEY, SECRET_KEY)


@pytest.fixture(scope="session")
def s3rver_tls(tls_files, tmp_path_factory):
    with S3rverServer(str(tmp_path_factory.mktemp("s3rver")), tls=tls_files) as server:
        yield TlsStore("s3rver", server.url, tls_files.ca, server.ACCESS_KEY, server.SECRET_KEY)


@pytest.fixture(params=["moto_tls", "s3rver_tls"])
def tls_store(request) -> TlsStore:
    """Each of the TLS servers in turn: moto (in memory) and s3rver (on disk, and the store that
    kept botocore's aws-chunked framing as data)."""
    return request.getfixturevalue(request.param)


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
