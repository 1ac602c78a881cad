"""A minimal HTTP/1.1 keep-alive client for the load generator's hot requests.

The load generator shares the machine's cores with the server it measures: every
millisecond of its own CPU is one the server does not get. httpx cost about 3 ms
of CPU per check-in (two requests) with its models, cookie jar and event hooks;
this client sends bytes built from a template on one blocking socket per client
and reads the answer by Content-Length or chunked encoding, keeping the
connection open. It knows just what the bench's requests need: GET and POST of
a form, a few cookies (kept from Set-Cookie), the answer's status, headers and text.
"""

from __future__ import annotations

import socket
from urllib.parse import urlencode, urlsplit

TIMEOUT = 30.0


class TransportError(OSError):
    """The connection failed or closed before a whole answer arrived."""


class Headers(dict[str, str]):
    """An answer's headers by lower-case name (one value each: the last)."""

    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)


class Answer:
    """What came back: status, headers and the body (as text on demand)."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: Headers, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise TransportError(f"HTTP {self.status_code}")


class KeepAliveClient:
    """One connection to one server, reused request after request (one thread at a time)."""

    def __init__(self, base: str, cookies: dict[str, str] | None = None) -> None:
        url = urlsplit(base)
        self.address = (url.hostname or "127.0.0.1", url.port or 80)
        self.host = f"{self.address[0]}:{self.address[1]}"
        self.cookies = dict(cookies or {})
        self.sock: socket.socket | None = None
        self.buffer = b""

    def get(
        self,
        path: str,
        params: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        if params:
            path = f"{path}?{urlencode(params)}"
        return self.request("GET", path, None, headers)

    def post(
        self,
        path: str,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        body = urlencode(data or {}).encode()
        return self.request("POST", path, body, headers)

    def request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str] | None
    ) -> Answer:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if body is not None:
            head.append("Content-Type: application/x-www-form-urlencoded")
            head.append(f"Content-Length: {len(body)}")
        head.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        message = ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")
        reused = self.sock is not None
        try:
            return self._exchange(message)
        except TransportError:
            if not reused:
                raise
        # The server closed a kept-alive connection between two requests: once more.
        return self._exchange(message)

    def _exchange(self, message: bytes) -> Answer:
        if self.sock is None:
            self._connect()
        assert self.sock is not None
        try:
            self.sock.sendall(message)
            answer, close = self._read_answer()
        except OSError as exc:
            self.close()
            raise TransportError(str(exc) or type(exc).__name__) from exc
        if close:
            self.close()
        return answer

    def _connect(self) -> None:
        try:
            sock = socket.create_connection(self.address, timeout=TIMEOUT)
        except OSError as exc:
            raise TransportError(f"connect: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buffer = sock, b""

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(262144)
        if not chunk:
            raise TransportError("connection closed by the server")
        self.buffer += chunk

    def _read_until(self, marker: bytes) -> bytes:
        while (end := self.buffer.find(marker)) < 0:
            self._fill()
        found, self.buffer = self.buffer[:end], self.buffer[end + len(marker) :]
        return found

    def _read_exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._fill()
        found, self.buffer = self.buffer[:size], self.buffer[size:]
        return found

    def _read_answer(self) -> tuple[Answer, bool]:
        status_line, *lines = self._read_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = Headers()
        for line in lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._keep_cookie(value)
            headers[name] = value
        close = headers.get("connection", "").lower() == "close"
        if headers.get("transfer-encoding", "").lower() == "chunked":
            content = self._read_chunked()
        elif "content-length" in headers:
            content = self._read_exactly(int(headers["content-length"]))
        elif status in (204, 304) or 100 <= status < 200:
            content = b""
        else:  # no length: the body runs until the server closes
            content, close = self._read_to_close(), True
        return Answer(status, headers, content), close

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self._read_until(b"\r\n").split(b";", 1)[0], 16)
            if size == 0:
                self._read_until(b"\r\n")  # no trailers from our server: the empty line
                return b"".join(parts)
            parts.append(self._read_exactly(size))
            self._read_exactly(2)

    def _read_to_close(self) -> bytes:
        try:
            while True:
                self._fill()
        except TransportError:
            content, self.buffer = self.buffer, b""
            return content

    def _keep_cookie(self, value: str) -> None:
        pair, *attributes = value.split(";")
        name, _, cookie = pair.strip().partition("=")
        gone = any(
            a.strip().lower() in ("max-age=0", "expires=thu, 01 jan 1970 00:00:00 gmt")
            for a in attributes
        )
        if gone or not cookie:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = cookie

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""
