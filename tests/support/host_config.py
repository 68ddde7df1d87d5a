"""The host command's configuration file for a test's BackupRequest: one job, the request's set,
credentials in the file (mode 0600, as config.load insists)."""

from __future__ import annotations

import yaml

from .fixtures import ACCESS_KEY, SECRET_KEY


def write_host_config(path, request) -> str:
    connection = request.connection
    document = {
        "defaults": {
            "bucket": request.bucket,
            "prefix": "host1",
            "endpoint_url": connection.endpoint_url,
            "region": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "gpg_recipient": "backup@example.com",
            "state_dir": request.state_dir,
        },
        "jobs": [{"name": request.set_name, "directory": request.source.path}],
    }
    path.write_text(yaml.safe_dump(document))
    path.chmod(0o600)
    return str(path)
