"""The two S3 servers the benchmark runs against, each on 127.0.0.1 with a fresh, empty bucket:
moto (objects in memory) and s3rver from npm (objects on disk, installed in bench/node_modules)."""

from __future__ import annotations

import os
import subprocess
import threading
import time

import boto3
from support.processes import MotoServer, free_port, stop, wait_for_port

BUCKET = "bench"
# s3rver checks signatures against its one built-in account; moto takes any key
ACCESS_KEY = SECRET_KEY = "S3RVER"  # noqa: S105 (a local test server's public default)
S3RVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_modules", "s3rver", "bin", "s3rver.js")


def client(url: str):
    return boto3.client(
        "s3", endpoint_url=url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name="us-east-1"
    )


class S3rver:
    """s3rver storing in ``directory``, with the benchmark's bucket made at start."""

    # what tools say when s3rver lacks an S3 call they need (ListMultipartUploads; restic's listing)
    UNSUPPORTED = ("NotImplemented", "Unmarshal")

    def __init__(self, directory: str, *, log_requests: bool = False):
        """``log_requests``: keep s3rver's log of each response, as (time.time() it was read, line)
        in ``self.log`` (bench/completion.py reads the server's own request durations from it)."""
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_requests = log_requests
        self.log: list[tuple[float, str]] = []

    def start(self) -> S3rver:
        os.makedirs(self.directory, exist_ok=True)
        argv = ["node", S3RVER, "-d", self.directory, "--address", "127.0.0.1", "--port", str(self.port)]
        argv += [] if self.log_requests else ["--silent"]
        argv += ["--no-vhost-buckets", "--configure-bucket", BUCKET]
        output = subprocess.PIPE if self.log_requests else subprocess.DEVNULL
        self.process = subprocess.Popen(argv, stdout=output, stderr=subprocess.DEVNULL, text=True)
        if self.log_requests:
            threading.Thread(target=self._read_log, args=(self.process.stdout,), daemon=True).start()
        wait_for_port(self.port, self.process)
        return self

    def _read_log(self, stream) -> None:
        # stamped on arrival: a response's line comes as the response ends
        for line in stream:
            self.log.append((time.time(), line.rstrip("\n")))

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)


class Moto(MotoServer):
    UNSUPPORTED = ()

    def __init__(self, directory: str):  # keeps everything in memory: nothing goes to directory
        super().__init__()

    def start(self) -> Moto:
        super().start()
        client(self.url).create_bucket(Bucket=BUCKET)
        return self


SERVERS = {"moto": Moto, "s3rver": S3rver}


def stored_bytes(url: str) -> int:
    total = 0
    for page in client(url).get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        total += sum(item["Size"] for item in page.get("Contents", []))
    return total
