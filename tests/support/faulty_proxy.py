"""A small HTTP proxy in front of the S3 server that answers chosen requests with an error.

It forwards everything else unchanged, so the engine talks to a real S3 API and only the fault is
made up. ``rule(method, path, query)`` returns None to forward, or a fault:
(status, S3 error code) answers with that error; ("reset", None) drops the connection once the
request is read, without a reply; ("stall", seconds) waits that long before forwarding (past the
client's timeout, a stalled server); ("slow", bytes per second) forwards at that rate, a slow link;
("cut", None) forwards and sends the reply's headers and half its body, then drops the connection;
("frame", None) forwards a body wrapped in aws-chunked framing, which is what a store that does not
decode aws-chunked uploads keeps: a success reply over an object that is not what was sent;
("restoring", None) forwards and says in the reply's x-amz-restore that the object's restore from
an archive is still under way (moto completes one at once);
("hold", Hold()) keeps the request, its body read, until the test releases it: the test kills the
client meanwhile, then lets the request go on to the server or drops it, and so decides whether
the store did what the dead client asked.
``requests`` records (method, path, headers) of every request, for tests of what was sent.
"""

from __future__ import annotations

import http.client
import http.server
import socket
import struct
import threading
import time
import urllib.parse

from .processes import free_port


class Hold:
    """One request held at the proxy: ``arrived`` is set once it is there; ``release(forward)``
    sends it on to the server (as if the client had died after sending it) or drops it (died
    before); ``done`` is set once the proxy has finished with it."""

    def __init__(self):
        self.arrived, self.done = threading.Event(), threading.Event()
        self._released = threading.Event()
        self.forward = False
        self.path = ""

    def wait(self, timeout: float = 60.0) -> str:
        """The held request's path, once it arrived."""
        if not self.arrived.wait(timeout):
            raise AssertionError(f"no request to hold came within {timeout} s")
        return self.path

    def release(self, forward: bool) -> None:
        self.forward = forward
        self._released.set()
        if not self.done.wait(60):
            raise AssertionError("the held request was not finished within 60 s")


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that gave up on a stall, or a reset made on purpose: no traceback


class FaultyProxy:
    def __init__(self, upstream_port: int, rule):
        self.upstream_port = upstream_port
        self.rule = rule
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.faults = 0
        self.requests: list[tuple[str, str, dict]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                        if size == 0:
                            return b"".join(chunks)
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _handle(self):
                body = self._body()
                url = urllib.parse.urlsplit(self.path)
                proxy.requests.append((self.command, url.path, {k.lower(): v for k, v in self.headers.items()}))
                fault = proxy.rule(self.command, url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True))
                if fault is not None and fault[0] == "hold":
                    proxy.faults += 1
                    self._hold(fault[1], url.path, body)
                    return
                if fault is not None and fault[0] == "frame":
                    proxy.faults += 1
                    body = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
                    fault = None
                if fault is not None and fault[0] in ("stall", "slow"):
                    proxy.faults += 1
                    time.sleep(fault[1] if fault[0] == "stall" else len(body) / fault[1])
                    fault = None
                cut = fault is not None and fault[0] == "cut"
                restoring = fault is not None and fault[0] == "restoring"
                if cut or restoring:
                    proxy.faults += 1
                    fault = None
                if fault is not None and fault[0] == "reset":
                    proxy.faults += 1
                    self._reset()
                    return
                if fault is not None:
                    proxy.faults += 1
                    status, code = fault
                    payload = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":  # a HEAD's reply has no body, whatever its length says
                        self.wfile.write(payload)
                    return
                self._forward(body, cut, restoring)

            def _forward(self, body: bytes, cut: bool = False, restoring: bool = False):
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding",)}
                headers["Content-Length"] = str(len(body))
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    reply = upstream.getresponse()
                    payload = reply.read()
                finally:
                    upstream.close()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in ("transfer-encoding", "content-length", "connection"):
                        under_way = restoring and key.lower() == "x-amz-restore"
                        self.send_header(key, 'ongoing-request="true"' if under_way else value)
                length = reply.getheader("Content-Length") if self.command == "HEAD" else None  # the object's
                self.send_header("Content-Length", length or str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload[: len(payload) // 2] if cut else payload)
                if cut:
                    self._reset()

            def _hold(self, hold: Hold, path: str, body: bytes):
                hold.path = path
                hold.arrived.set()
                hold._released.wait()
                try:
                    if hold.forward:
                        self._forward(body)  # its client is gone: the reply goes nowhere
                    else:
                        self._reset()
                finally:
                    hold.done.set()

            def _reset(self):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = _QuietServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
