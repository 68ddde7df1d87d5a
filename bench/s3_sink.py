"""An S3 endpoint that receives uploads (a backup's volumes, multipart uploads) and throws their bytes
away, for backups bigger than moto can hold.

moto keeps every object in memory and joins a multipart upload's parts into one bytearray on
completion (FakeMultipart.complete): an 8 GB upload needs more than 8 GB of moto's memory. This
sink hashes each part's bytes as they arrive, in part order (parts come in on several connections;
the few that arrive early wait in memory for their turn), and keeps only each object's size and
SHA-256, so that a benchmark can check that what was stored is what the backup says it stored.
Small objects (manifests, under ``KEEP_BYTES``) are kept whole. A backup's volumes (``KEY``,
``KEY~00002`` ...) are hashed the same way, in volume order, into what the report says of ``KEY``:
the size and SHA-256 of the backup's whole data. It speaks just the calls a backup into one bucket
makes, path-style, and ignores signatures.

``with SinkServer() as sink:`` runs it in a process of its own, so that its memory is not the
backup's, at ``sink.url`` with one bucket, ``BUCKET``; ``sink.report()`` is ``{key: {"size": n,
"sha256": hex}}`` of every object stored.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from support.processes import MotoServer, wait_for_port

from .servers import BUCKET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEEP_BYTES = 1 << 20
VOLUME = re.compile(r"^(?P<key>.+)~(?P<number>\d{5,})$")
XMLNS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


@dataclass
class Stored:
    size: int
    sha256: str
    etag: str
    body: bytes | None  # kept only when small


@dataclass
class Upload:
    key: str
    digest: object = field(default_factory=hashlib.sha256)
    size: int = 0
    next_part: int = 1
    early: dict = field(default_factory=dict)  # part number -> (bytes, MD5) that arrived before their turn
    md5s: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, number: int, data: bytes, md5: bytes) -> None:
        with self.lock:
            if number < self.next_part:
                return  # a retried part that was already hashed
            self.early[number] = (data, md5)
            while self.next_part in self.early:
                chunk, chunk_md5 = self.early.pop(self.next_part)
                self.digest.update(chunk)
                self.size += len(chunk)
                self.md5s.append(chunk_md5)
                self.next_part += 1


class Sink:
    def __init__(self, bucket: str):
        self.bucket = bucket
        self.objects: dict[str, Stored] = {}
        self.uploads: dict[str, Upload] = {}
        self.volumes: dict[str, Upload] = {}  # every object's key -> its volumes, hashed in order
        self.lock = threading.Lock()

    def add_volume(self, key: str, body: bytes, md5: bytes) -> None:
        match = VOLUME.match(key)
        first, number = (match["key"], int(match["number"])) if match else (key, 1)
        with self.lock:
            volumes = self.volumes.get(first)
            if volumes is None or number == 1:  # a key stored again starts over
                volumes = self.volumes[first] = Upload(first)
        volumes.add(number, body, md5)

    def report(self) -> dict:
        found = {key: {"size": stored.size, "sha256": stored.sha256} for key, stored in self.objects.items()}
        for key, volumes in self.volumes.items():
            if key in found and volumes.next_part > 2 and not volumes.early:
                found[key] = {"size": volumes.size, "sha256": volumes.digest.hexdigest()}
        return found


def _xml(root: str, inner: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><{root} {XMLNS}>{inner}</{root}>'.encode()


def _handler(sink: Sink):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _body(self) -> bytes:
            # botocore sends a part (a seekable body) with its Content-Length over http
            chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
            if chunked or "aws-chunked" in self.headers.get("Content-Encoding", ""):
                raise NotImplementedError("chunked bodies")
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _reply(self, status: int, payload: bytes = b"", headers: dict | None = None, length: int | None = None):
            """``length``: what a HEAD says the object holds, when that is not the payload's size."""
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload) if length is None else length))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _error(self, status: int, code: str) -> None:
            self._reply(status, _xml("Error", f"<Code>{code}</Code><Message>{code}</Message>"))

        def _handle(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
            try:
                body = self._body()
            except NotImplementedError:
                self._error(501, "NotImplemented")
                return
            if "sink-report" in query:
                self._reply(200, json.dumps(sink.report()).encode())
                return
            bucket, _slash, key = url.path.lstrip("/").partition("/")
            key = urllib.parse.unquote(key)
            if bucket != sink.bucket:
                self._error(404, "NoSuchBucket")
                return
            operation = OPERATIONS.get((self.command, bool(key), _operation(query)))
            if operation is None:
                self._error(501, "NotImplemented")
                return
            getattr(self, operation)(key, query, body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        def head_bucket(self, _key, _query, _body):
            self._reply(200)

        def list_objects(self, _key, query, _body):
            prefix = query.get("prefix", [""])[0]
            contents = "".join(
                f"<Contents><Key>{escape(key)}</Key><Size>{stored.size}</Size><ETag>{stored.etag}</ETag>"
                "<LastModified>2000-01-01T00:00:00.000Z</LastModified><StorageClass>STANDARD</StorageClass></Contents>"
                for key, stored in sorted(sink.objects.items())
                if key.startswith(prefix)
            )
            count = contents.count("<Contents>")
            inner = f"<Name>{sink.bucket}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{count}</KeyCount>"
            self._reply(200, _xml("ListBucketResult", f"{inner}<IsTruncated>false</IsTruncated>{contents}"))

        def list_uploads(self, _key, query, _body):
            prefix = query.get("prefix", [""])[0]
            uploads = "".join(
                f"<Upload><Key>{escape(upload.key)}</Key><UploadId>{upload_id}</UploadId></Upload>"
                for upload_id, upload in sink.uploads.items()
                if upload.key.startswith(prefix)
            )
            inner = f"<Bucket>{sink.bucket}</Bucket><IsTruncated>false</IsTruncated>{uploads}"
            self._reply(200, _xml("ListMultipartUploadsResult", inner))

        def start_upload(self, key, _query, _body):
            upload_id = uuid.uuid4().hex
            sink.uploads[upload_id] = Upload(key)
            inner = f"<Bucket>{sink.bucket}</Bucket><Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId>"
            self._reply(200, _xml("InitiateMultipartUploadResult", inner))

        def upload_part(self, _key, query, body):
            upload = sink.uploads.get(query["uploadId"][0])
            if upload is None:
                self._error(404, "NoSuchUpload")
                return
            md5 = hashlib.md5(body).digest()  # noqa: S324 (S3's ETag is MD5)
            upload.add(int(query["partNumber"][0]), body, md5)
            self._reply(200, headers={"ETag": f'"{md5.hex()}"'})

        def complete_upload(self, key, query, _body):
            upload = sink.uploads.pop(query["uploadId"][0], None)
            if upload is None or upload.early:
                self._error(400, "InvalidPart")  # a part is missing: parts after it never got their turn
                return
            etag = f'"{hashlib.md5(b"".join(upload.md5s)).hexdigest()}-{len(upload.md5s)}"'  # noqa: S324
            sink.objects[key] = Stored(upload.size, upload.digest.hexdigest(), etag, None)
            inner = f"<Bucket>{sink.bucket}</Bucket><Key>{escape(key)}</Key><ETag>{etag}</ETag>"
            self._reply(200, _xml("CompleteMultipartUploadResult", inner))

        def abort_upload(self, _key, query, _body):
            sink.uploads.pop(query["uploadId"][0], None)
            self._reply(204)

        def put_object(self, key, _query, body):
            md5 = hashlib.md5(body).digest()  # noqa: S324 (S3's ETag is MD5)
            etag = f'"{md5.hex()}"'
            sink.add_volume(key, body, md5)
            kept = body if len(body) <= KEEP_BYTES else None
            sink.objects[key] = Stored(len(body), hashlib.sha256(body).hexdigest(), etag, kept)
            self._reply(200, headers={"ETag": etag})

        def get_object(self, key, _query, _body):
            stored = sink.objects.get(key)
            if stored is None or (stored.body is None and self.command == "GET"):
                self._error(404, "NoSuchKey")  # a discarded object cannot be read back
                return
            self._reply(200, stored.body or b"", {"ETag": stored.etag}, stored.size)

        def delete_object(self, key, _query, _body):
            sink.objects.pop(key, None)
            self._reply(204)

    return Handler


def _operation(query: dict) -> str:
    for name in ("uploads", "uploadId", "list-type"):
        if name in query:
            return name
    return ""


# (method, on a key?, the query parameter that names the operation) -> the handler's method
OPERATIONS = {
    ("HEAD", False, ""): "head_bucket",
    ("GET", False, "list-type"): "list_objects",
    ("GET", False, "uploads"): "list_uploads",
    ("POST", True, "uploads"): "start_upload",
    ("PUT", True, "uploadId"): "upload_part",
    ("POST", True, "uploadId"): "complete_upload",
    ("DELETE", True, "uploadId"): "abort_upload",
    ("PUT", True, ""): "put_object",
    ("GET", True, ""): "get_object",
    ("HEAD", True, ""): "get_object",
    ("DELETE", True, ""): "delete_object",
}


class SinkServer(MotoServer):
    """Started and stopped like moto (tests/support/processes.py) and the servers of servers.py; it
    stores nothing in ``directory``."""

    def __init__(self, directory: str = ""):
        super().__init__()

    def start(self) -> SinkServer:
        self.process = subprocess.Popen([sys.executable, "-m", "bench.s3_sink", str(self.port), BUCKET], cwd=ROOT)
        wait_for_port(self.port, self.process)
        return self

    def report(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/?sink-report", timeout=30) as reply:  # noqa: S310 (our own sink)
            return json.load(reply)


def main(argv: list[str]) -> None:
    port, bucket = int(argv[0]), argv[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler(Sink(bucket)))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
