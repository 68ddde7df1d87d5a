import http.server
import threading

import pytest
import yaml
from support import fixtures, trees
from support.fixtures import ACCESS_KEY, SECRET_KEY

from ansible_collections.s3napback.s3napback.plugins.module_utils.request import BackupRequest
from ansible_collections.s3napback.s3napback.plugins.module_utils.s3 import Connection
from ansible_collections.s3napback.s3napback.plugins.module_utils.schedule import Schedule
from ansible_collections.s3napback.s3napback.plugins.module_utils.sources import DirectorySource

moto, s3, bucket, keys = fixtures.moto, fixtures.s3, fixtures.bucket, fixtures.keys  # shared fixtures
mariadb, postgresql = fixtures.mariadb, fixtures.postgresql
tls_files, moto_tls, s3rver_tls, tls_store = (
    fixtures.tls_files,
    fixtures.moto_tls,
    fixtures.s3rver_tls,
    fixtures.tls_store,
)


@pytest.fixture
def make_request(moto, bucket, keys, tmp_path):
    """A BackupRequest for ``directory`` into the test bucket; keyword arguments override fields."""

    def make(directory, endpoint_url=None, exclude=(), **overrides):
        schedule = {k: overrides.pop(k) for k in ("frequency", "phase", "diffs", "fulls") if k in overrides}
        values = {
            "source": DirectorySource(str(directory), list(exclude)),
            "bucket": bucket,
            "connection": Connection(
                access_key=ACCESS_KEY, secret_key=SECRET_KEY, region="us-east-1", endpoint_url=endpoint_url or moto.url
            ),
            "prefix": "host1",
            "gpg_recipient": ["backup@example.com"],
            "gpg_public_key": keys.public_key,
            "state_dir": str(tmp_path / "state"),
            "schedule": Schedule(**schedule),
        }
        return BackupRequest(**{**values, **overrides})

    return make


@pytest.fixture
def job_options(make_request, bucket):
    """The option dict of a module task or config job, by the module's names, into the test bucket."""

    def make(**source):
        template = make_request("/unused")
        connection = template.connection
        return {
            "bucket": bucket,
            "prefix": "host1",
            "state_dir": template.state_dir,
            "gpg_recipient": template.gpg_recipient,
            "gpg_public_key": template.gpg_public_key,
            "endpoint_url": connection.endpoint_url,
            "region": connection.region,
            "access_key": connection.access_key,
            "secret_key": connection.secret_key,
            **source,
        }

    return make


@pytest.fixture
def setup(tmp_path, moto, bucket, keys):
    """Two directories and a config file with one job each, credentials in the file (mode 0600)."""
    for name in ("etc", "www"):
        trees.build_tree(str(tmp_path / name))
    document = {
        "defaults": {
            "bucket": bucket,
            "prefix": "host1",
            "endpoint_url": moto.url,
            "region": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "gpg_recipient": "backup@example.com",
            "gpg_public_key": keys.public_key,
            "state_dir": str(tmp_path / "state"),
        },
        "jobs": [
            {"name": "etc", "directory": str(tmp_path / "etc")},
            {"name": "www", "directory": str(tmp_path / "www"), "exclude": ["*.key"]},
        ],
    }
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(document))
    path.chmod(0o600)
    return path, document


@pytest.fixture
def pings():
    """An HTTP server on 127.0.0.1 that records the path and body of every POST."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append((self.path, body.decode()))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()
    thread.join()
