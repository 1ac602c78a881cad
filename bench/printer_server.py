"""A virtual printer that is a real TCP socket server (like a printer on port 9100)."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass


@dataclass
class Job:
    received_at: float  # time.monotonic() when the connection closed (bytes complete)
    data: bytes


class PrinterServer:
    """Accepts connections, reads until the client closes, records each job."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = int(self.sock.getsockname()[1])
        self.jobs: list[Job] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.sock.settimeout(0.5)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        received = bytearray()
        pending = b""
        conn.settimeout(10)
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                # Answer status queries (DLE EOT n) like a healthy printer: online, paper ok.
                # A query may arrive in the same read as the job before it.
                while (at := pending.find(b"\x10\x04")) != -1 and len(pending) >= at + 3:
                    received.extend(pending[:at])
                    conn.sendall(b"\x12")
                    pending = pending[at + 3 :]
            received.extend(pending)
        if received:
            with self._lock:
                self.jobs.append(Job(time.monotonic(), bytes(received)))

    def find(self, needle: bytes, wait: float = 2.0) -> Job | None:
        """The job whose bytes contain `needle`; waits briefly for a connection still closing."""
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                for job in self.jobs:
                    if needle in job.data:
                        return job
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
