"""The S3 servers the benchmark runs against, each on 127.0.0.1 with a fresh, empty bucket:
moto (objects in memory), s3rver from npm (objects on disk, installed in bench/node_modules), and
s3rver-tls, the same s3rver serving HTTPS with a certificate for 127.0.0.1 that a throwaway CA,
made at start, signed. Over HTTPS every tool verifies the server against that CA (``ca_bundle``)."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import boto3
from support.processes import MotoServer, free_port, stop, wait_for_port
from support.tls import make_ca_and_server_cert

BUCKET = "bench"
# s3rver checks signatures against its one built-in account; moto takes any key
ACCESS_KEY = SECRET_KEY = "S3RVER"  # noqa: S105 (a local test server's public default)
S3RVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_modules", "s3rver", "bin", "s3rver.js")


def client(url: str, ca_bundle: str | None = None):
    """A boto3 client of the server at ``url``; over HTTPS it verifies the server against ``ca_bundle``."""
    return boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
        verify=ca_bundle,
    )


class S3rver:
    """s3rver storing in ``directory``, with the benchmark's bucket made at start."""

    # what tools say when s3rver lacks an S3 call they need (ListMultipartUploads; restic's listing)
    UNSUPPORTED = ("NotImplemented", "Unmarshal")
    scheme = "http"
    ca_bundle: str | None = None  # the CA file that clients verify the server against (HTTPS only)

    def __init__(self, directory: str, *, log_requests: bool = False):
        """``log_requests``: keep s3rver's log of each response, as (time.time() it was read, line)
        in ``self.log`` (bench/completion.py reads the server's own request durations from it)."""
        self.directory = directory
        self.port = free_port()
        self.url = f"{self.scheme}://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_requests = log_requests
        self.log: list[tuple[float, str]] = []

    def start(self) -> S3rver:
        os.makedirs(self.directory, exist_ok=True)
        argv = ["node", S3RVER, "-d", self.directory, "--address", "127.0.0.1", "--port", str(self.port)]
        argv += [] if self.log_requests else ["--silent"]
        argv += ["--no-vhost-buckets", *self._tls_arguments(), "--configure-bucket", BUCKET]
        output = subprocess.PIPE if self.log_requests else subprocess.DEVNULL
        self.process = subprocess.Popen(argv, stdout=output, stderr=subprocess.DEVNULL, text=True)
        if self.log_requests:
            threading.Thread(target=self._read_log, args=(self.process.stdout,), daemon=True).start()
        wait_for_port(self.port, self.process)
        return self

    def _tls_arguments(self) -> list[str]:
        return []

    def _read_log(self, stream) -> None:
        # stamped on arrival: a response's line comes as the response ends
        for line in stream:
            self.log.append((time.time(), line.rstrip("\n")))

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class S3rverTLS(S3rver):
    """s3rver over HTTPS (``--key``/``--cert``): restic talks to s3rver only this way. The CA and
    the server's certificate are made at start, in ``directory``'s sibling ``tls`` (not in the
    store)."""

    # restic works here (not over plain HTTP): its failure is a failure, not an n/a
    UNSUPPORTED = ("NotImplemented",)
    scheme = "https"

    def _tls_arguments(self) -> list[str]:
        files = make_ca_and_server_cert(os.path.join(os.path.dirname(os.path.abspath(self.directory)), "tls"))
        self.ca_bundle = files.ca
        return ["--key", files.key, "--cert", files.cert]


class Moto(MotoServer):
    UNSUPPORTED = ()
    ca_bundle: str | None = None

    def __init__(self, directory: str):  # keeps everything in memory: nothing goes to directory
        super().__init__()

    def start(self) -> Moto:
        super().start()
        client(self.url).create_bucket(Bucket=BUCKET)
        return self


SERVERS = {"moto": Moto, "s3rver": S3rver, "s3rver-tls": S3rverTLS}


def stored_bytes(url: str, ca_bundle: str | None = None) -> int:
    total = 0
    for page in client(url, ca_bundle).get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        total += sum(item["Size"] for item in page.get("Contents", []))
    return total
