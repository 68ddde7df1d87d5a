"""Servers the tests start and stop themselves, each by its own PID, on 127.0.0.1 only."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with status {process.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
S3RVER = os.path.join(ROOT, "bench", "node_modules", "s3rver", "bin", "s3rver.js")


class S3Server:
    """An S3 API server in a process of its own on 127.0.0.1, over HTTPS with the certificate of
    ``tls`` (support.tls.TlsFiles) when given; subclasses say how to start it."""

    def __init__(self, tls=None):
        self.port = free_port()
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def launch(self, argv: list[str], **popen) -> None:
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def start(self):
        raise NotImplementedError

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class MotoServer(S3Server):
    """moto's S3 API server (objects live in its memory: restart it after heavy tests)."""

    def __init__(self, env: dict | None = None, tls=None):
        super().__init__(tls)
        self.env = env or {}

    def start(self) -> MotoServer:
        # The server is not what a run under another Python tests: tests/scripts/oldest-python.sh
        # keeps the main virtualenv's moto (S3NAPBACK_TEST_SERVER_PYTHON) while the engine runs on 3.9.
        python = os.environ.get("S3NAPBACK_TEST_SERVER_PYTHON") or sys.executable
        argv = [python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        argv += ["--ssl-cert", self.tls.cert, "--ssl-key", self.tls.key] if self.tls else []
        self.launch(argv, env={**os.environ, **self.env})
        return self


class S3rverServer(S3Server):
    """s3rver (npm, installed in bench/node_modules by make) storing on disk in ``directory``, with
    ``buckets`` made at start. It accepts only its built-in credentials, S3RVER/S3RVER."""

    ACCESS_KEY = SECRET_KEY = "S3RVER"

    def __init__(self, directory: str, buckets: tuple[str, ...] = (), tls=None):
        super().__init__(tls)
        self.directory, self.buckets = directory, buckets

    def start(self) -> S3rverServer:
        os.makedirs(self.directory, exist_ok=True)
        argv = ["node", S3RVER, "-d", self.directory, "--address", "127.0.0.1", "--port", str(self.port)]
        argv += ["--key", self.tls.key, "--cert", self.tls.cert] if self.tls else []
        argv += ["--silent", "--no-vhost-buckets"] + [a for name in self.buckets for a in ("--configure-bucket", name)]
        self.launch(argv)
        return self
