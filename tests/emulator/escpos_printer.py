"""A network ESC/POS printer on the loopback, for tests: it prints, answers, and breaks.

Written from the ESC/POS command reference, independent of the `printer` package: it
parses the byte stream itself. Real-time commands (DLE EOT n, DLE DC4 8) are answered
as they arrive, even while the printer is stopped; everything else is queued and run
in order, and a stopped printer (paper out, cover open) keeps its queue until the fault
is cleared, as Epson printers do, unless DLE DC4 8 clears it. A ticket counts as
printed when its cut (GS V) comes out with paper in the printer; a model without a
cutter ends a ticket with a feed of three lines or more (ESC d n).

`pull_plug_after(n)` cuts the power after n bytes of the next job: the connection
dies mid-ticket, the printer forgets everything, and refuses connections until
`plug_in()`. `paper_out_after(n)` and `open_cover_after(n)` stop it after n bytes.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

DLE, ESC, GS, LF = 0x10, 0x1B, 0x1D, 0x0A
CLEAR_RESPONSE: Final = b"\x37\x25\x00"
EC_LEVELS: Final = {48: "L", 49: "M", 50: "Q", 51: "H"}
# ESC commands and how many parameter bytes follow them.
ESC_ARGS: Final = {
    ord("@"): 0, ord("2"): 0, ord("t"): 1, ord("E"): 1, ord("a"): 1, ord("d"): 1,
    ord("!"): 1, ord("-"): 1, ord("3"): 1, ord("G"): 1, ord("M"): 1, ord("V"): 1,
    ord("{"): 1, ord("J"): 1, ord("r"): 1, ord("p"): 3,
}  # fmt: skip
GS_ARGS: Final = {
    ord("!"): 1,
    ord("b"): 1,
    ord("B"): 1,
    ord("h"): 1,
    ord("w"): 1,
    ord("f"): 1,
    ord("H"): 1,
}


@dataclass
class Line:
    text: str
    scale: int  # character width multiplier (GS !)
    bold: bool
    align: str


@dataclass
class Qr:
    data: str
    error_correction: str
    module_dots: int


@dataclass
class Ticket:
    """One ticket that came out of the printer (or was torn off unfinished)."""

    lines: list[Line] = field(default_factory=list)
    qr: list[Qr] = field(default_factory=list)
    images: list[tuple[int, int]] = field(default_factory=list)  # (width dots, height)
    code_page: str = "cp437"

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


class EmulatedPrinter:
    """An ESC/POS printer on 127.0.0.1: `with EmulatedPrinter() as printer: printer.uri`."""

    def __init__(self, *, code_pages: dict[int, str] | None = None, cutter: bool = True) -> None:
        self.code_pages = code_pages or {0: "cp437", 17: "cp866", 59: "cp866"}
        self.cutter = cutter
        self.printed: list[Ticket] = []
        self.torn: list[Ticket] = []  # unfinished tickets lost to a fault or a power cut
        self.connections = 0
        self.status_requests = 0
        self.paper = "ok"  # ok, near_end, out
        self.cover_open = False
        self.powered = True
        self._fault_at: tuple[int, str] | None = None
        self._lock = threading.Lock()
        self._queue: list[tuple[str, bytes]] = []
        self._page = Ticket()
        self._style = {"align": "left", "bold": False, "scale": 1, "codec": "cp437"}
        self._qr_params: dict[str, object] = {}
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- control ---------------------------------------------------------------------

    def __enter__(self) -> EmulatedPrinter:
        self._listen()
        return self

    def __exit__(self, *_: object) -> None:
        self._close_listener()

    @property
    def uri(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def paper_out_after(self, count: int) -> None:
        self._fault_at = (count, "paper")

    def open_cover_after(self, count: int) -> None:
        self._fault_at = (count, "cover")

    def pull_plug_after(self, count: int) -> None:
        self._fault_at = (count, "plug")

    def load_paper(self) -> None:
        with self._lock:
            self.paper = "ok"
            self._resume()

    def close_cover(self) -> None:
        with self._lock:
            self.cover_open = False
            self._resume()

    def plug_in(self) -> None:
        self.powered = True
        self._listen()

    # --- network -----------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(8)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._serve, args=(listener,), daemon=True)
        self._thread.start()

    def _close_listener(self) -> None:
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone does not on Linux.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        received = 0
        parser = _Parser()
        while True:
            try:
                chunk = conn.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            for byte in chunk:
                received += 1
                for kind, body in parser.feed(byte):
                    if kind == "status":
                        self.status_requests += 1
                        conn.sendall(bytes([self._status(body[0])]))
                    elif kind == "clear":
                        with self._lock:
                            self._clear()
                        conn.sendall(CLEAR_RESPONSE)
                    else:
                        with self._lock:
                            self._queue.append((kind, body))
                            self._resume()
                if self._fault_at and received >= self._fault_at[0] and not parser.in_command:
                    fault = self._fault_at[1]
                    self._fault_at = None
                    if fault == "plug":
                        self._power_cut(conn)
                        return
                    with self._lock:
                        if fault == "paper":
                            self.paper = "out"
                        else:
                            self.cover_open = True

    def _power_cut(self, conn: socket.socket) -> None:
        # The power goes: the connection dies without a goodbye, memory is lost.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with self._lock:
            self._clear()
        self.powered = False
        if self._listener is not None:  # closed here, so no connection is taken after the cut
            self._listener.close()
            self._listener = None

    # --- printing ----------------------------------------------------------------------

    @property
    def stopped(self) -> bool:
        return self.paper == "out" or self.cover_open

    def _status(self, n: int) -> int:
        value = 0x12
        if n == 1 and self.stopped:
            value |= 0x08
        elif n == 2:
            value |= (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)
        elif n == 4:
            value |= {"ok": 0, "near_end": 0x0C, "out": 0x6C}[self.paper]
        return value

    def _clear(self) -> None:
        self._queue.clear()
        if self._page.lines or self._page.qr or self._page.images:
            self.torn.append(self._page)
        self._page = Ticket(code_page=str(self._style["codec"]))

    def _resume(self) -> None:
        while self._queue and not self.stopped:
            kind, body = self._queue.pop(0)
            self._run(kind, body)

    def _run(self, kind: str, body: bytes) -> None:
        style = self._style
        if kind == "text":
            self._page.lines.append(
                Line(
                    body.decode(str(style["codec"]), errors="replace"),
                    int(str(style["scale"])),
                    bool(style["bold"]),
                    str(style["align"]),
                )
            )
        elif kind == "esc":
            command, args = body[0], body[1:]
            if command == ord("@"):
                self._style = {"align": "left", "bold": False, "scale": 1, "codec": "cp437"}
            elif command == ord("t"):
                style["codec"] = self.code_pages.get(args[0], "cp437")
                self._page.code_page = str(style["codec"])
            elif command == ord("E"):
                style["bold"] = bool(args[0] & 1)
            elif command == ord("a"):
                style["align"] = {0: "left", 1: "center", 2: "right"}.get(args[0] % 48, "left")
            elif command == ord("d") and not self.cutter and args[0] >= 3:
                self._finish()
        elif kind == "gs":
            command, args = body[0], body[1:]
            if command == ord("!"):
                style["scale"] = (args[0] >> 4) + 1
            elif command == ord("V"):
                self._finish()
        elif kind == "qr":
            cn, fn, params = body[0], body[1], body[2:]
            if cn != 49:
                return
            if fn == 67:
                self._qr_params["size"] = params[0]
            elif fn == 69:
                self._qr_params["ec"] = EC_LEVELS.get(params[0], "?")
            elif fn == 80:
                self._qr_params["data"] = params[1:].decode("ascii")
            elif fn == 81:
                self._page.qr.append(
                    Qr(
                        str(self._qr_params.get("data", "")),
                        str(self._qr_params.get("ec", "L")),
                        int(str(self._qr_params.get("size", 3))),
                    )
                )
        elif kind == "raster":
            width, height = struct.unpack("<HH", body[:4])
            self._page.images.append((width * 8, height))

    def _finish(self) -> None:
        if self._page.lines or self._page.qr or self._page.images:
            self.printed.append(self._page)
        self._page = Ticket(code_page=str(self._style["codec"]))


class _Parser:
    """Split the byte stream into commands, one byte at a time."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.text = bytearray()

    @property
    def in_command(self) -> bool:
        return bool(self.buffer)

    def feed(self, byte: int) -> Iterator[tuple[str, bytes]]:
        if not self.buffer:
            if byte in (DLE, ESC, GS):
                self.buffer.append(byte)
            elif byte == LF:
                yield "text", bytes(self.text)
                self.text.clear()
            elif byte >= 0x20:
                self.text.append(byte)
            return
        self.buffer.append(byte)
        found = self._complete()
        if found is not None:
            self.buffer.clear()
            yield found

    def _complete(self) -> tuple[str, bytes] | None:
        b = self.buffer
        if b[0] == DLE:
            if len(b) >= 3 and b[1] == 0x04:
                return "status", bytes(b[2:3])
            if len(b) >= 3 and b[1] == 0x14 and b[2] == 8:
                return ("clear", b"") if len(b) >= 10 else None
            if len(b) >= 3 and b[1] != 0x14:
                return "other", bytes(b)
            return None
        if b[0] == ESC:
            if len(b) < 2:
                return None
            need = ESC_ARGS.get(b[1], 1)
            return ("esc", bytes(b[1:])) if len(b) >= 2 + need else None
        # GS
        if len(b) < 2:
            return None
        command = b[1]
        if command == ord("("):
            if len(b) < 5:
                return None
            length = b[3] | b[4] << 8
            return ("qr", bytes(b[5:])) if len(b) >= 5 + length else None
        if command == ord("v"):
            if len(b) < 8:
                return None
            width, height = b[4] | b[5] << 8, b[6] | b[7] << 8
            return ("raster", bytes(b[4:8])) if len(b) >= 8 + width * height else None
        if command == ord("V"):
            if len(b) < 3:
                return None
            if b[2] in (65, 66):
                return ("gs", bytes(b[1:])) if len(b) >= 4 else None
            return "gs", bytes(b[1:])
        need = GS_ARGS.get(command, 1)
        return ("gs", bytes(b[1:])) if len(b) >= 2 + need else None


def decode_job(data: bytes, *, cutter: bool = True) -> list[Ticket]:
    """The tickets these bytes print on a working printer (no network involved)."""
    printer = EmulatedPrinter(cutter=cutter)
    parser = _Parser()
    for byte in data:
        for kind, body in parser.feed(byte):
            if kind in ("text", "esc", "gs", "qr", "raster"):
                printer._queue.append((kind, body))
                printer._resume()
    return printer.printed
