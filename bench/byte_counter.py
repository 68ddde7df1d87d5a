"""A TCP relay on 127.0.0.1 that counts the bytes a client downloads from a server: what each
tool read from S3, TLS or not, measured the same way for every tool."""

from __future__ import annotations

import contextlib
import socket
import threading

from support.processes import free_port


class ByteCounter:
    """``with ByteCounter(port) as relay:`` point a tool at ``relay.port``; ``relay.take()`` gives
    the bytes sent from the server to clients since the last call."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.port = free_port()
        self._down = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stopped = threading.Event()

    def __enter__(self) -> ByteCounter:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopped.set()
        self._listener.close()

    def take(self) -> int:
        with self._lock:
            counted, self._down = self._down, 0
        return counted

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, downstream: bool) -> None:
        try:
            while True:
                data = source.recv(1 << 20)
                if not data:
                    break
                if downstream:
                    with self._lock:
                        self._down += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
