"""A virtual printer that is a real TCP socket server (like a printer on port 9100).

One thread and one selector serve every connection: the printer runs in the load
generator's process, which shares the machine's cores with the server measured,
so it must cost little (a thread per connection cost a thread start per ticket).
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field

_STATUS_QUERY = b"\x10\x04"  # DLE EOT n: the printer's status question
_HEALTHY = b"\x12"  # online, cover closed, paper present


@dataclass
class Job:
    received_at: float  # time.monotonic() when the connection closed (bytes complete)
    data: bytes


@dataclass
class _Connection:
    sock: socket.socket
    received: bytearray = field(default_factory=bytearray)
    pending: bytes = b""


class PrinterServer:
    """Accepts connections, reads until the client closes, records each job."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.jobs: list[Job] = []
        self._landed = threading.Condition()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.sock, selectors.EVENT_READ, None)
        self._stop = False
        self._thread = threading.Thread(target=self._serve, name="printer", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            for key, _mask in self._selector.select(0.5):
                if key.data is None:
                    self._accept()
                else:
                    self._read(key.data)
        self._selector.close()

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._selector.register(conn, selectors.EVENT_READ, _Connection(conn))

    def _read(self, conn: _Connection) -> None:
        try:
            chunk = conn.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._finish(conn)
            return
        conn.pending += chunk
        # Answer status queries (DLE EOT n) like a healthy printer: online, paper ok.
        # A query may arrive in the same read as the job before it.
        while (at := conn.pending.find(_STATUS_QUERY)) != -1 and len(conn.pending) >= at + 3:
            conn.received.extend(conn.pending[:at])
            with contextlib.suppress(OSError):  # one byte: a socket's buffer takes it
                conn.sock.send(_HEALTHY)
            conn.pending = conn.pending[at + 3 :]

    def _finish(self, conn: _Connection) -> None:
        self._selector.unregister(conn.sock)
        conn.sock.close()
        conn.received.extend(conn.pending)
        if conn.received:
            with self._landed:
                self.jobs.append(Job(time.monotonic(), bytes(conn.received)))
                self._landed.notify_all()

    def find(self, needle: bytes, wait: float = 2.0) -> Job | None:
        """The job whose bytes contain `needle`; waits briefly for a connection still closing."""
        deadline = time.monotonic() + wait
        looked = 0
        with self._landed:
            while True:
                # The newest first: the job looked for has mostly just landed.
                for job in reversed(self.jobs[looked:]):
                    if needle in job.data:
                        return job
                looked = len(self.jobs)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._landed.wait(left)

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()
