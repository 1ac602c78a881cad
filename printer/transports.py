"""Ways to get bytes to a printer, chosen by a URI in config."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import socket
from collections.abc import Callable, Iterator
from time import monotonic
from typing import Any, Final, Protocol
from urllib.parse import parse_qs, urlsplit

from printer.errors import PrinterError
from printer.status import (
    CLEAR_RESPONSE,
    DLE_DC4_CLEAR_BUFFERS,
    DLE_EOT_ERROR,
    DLE_EOT_OFFLINE_CAUSE,
    DLE_EOT_PAPER,
    DLE_EOT_PRINTER,
    UNKNOWN,
    PrinterStatus,
    combine,
    full_status,
    is_status_byte,
    parse_online,
)
from printer.virtual import virtual_printer

DEFAULT_TCP_PORT: Final = 9100
_CHUNK: Final = 4096


class Transport(Protocol):
    """Something a ticket can be sent to."""

    @property
    def confirms(self) -> bool:
        """Whether `send` waits for the printer to confirm the job (DLE EOT after the data)."""

    def send(self, data: bytes) -> PrinterStatus:
        """Deliver one whole job or raise PrinterError.

        Return the printer's answer after the data (`confirmed`), or UNKNOWN when
        this transport cannot ask (a file, a serial port without a way back).
        """

    def status(self) -> PrinterStatus:
        """Ask the printer how it is, within the transport's timeout; never raise."""


def transport_from_uri(
    uri: str, timeout: float = 2.0, *, confirm: bool = True, clear_buffer: bool = True
) -> Transport:
    """Build the transport a URI names: tcp://, usb://, serial://, file://, virtual://.

    `confirm=False` (or `?status=0` in the URI): the printer cannot answer status
    requests; its jobs are sent and not confirmed. `clear_buffer=False` (or `?clear=0`):
    the model does not know DLE DC4 8, so a fault's half job is not cleared.
    """
    if timeout <= 0:
        raise ValueError(f"printer timeout must be positive, got {timeout}")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    confirm = confirm and _flag(query.get("status", "1"))
    try:
        if scheme == "tcp":
            if not parts.hostname:
                raise ValueError("no host")
            return TcpTransport(
                parts.hostname,
                parts.port or DEFAULT_TCP_PORT,
                timeout=timeout,
                confirm=confirm,
                clear_buffer=clear_buffer and _flag(query.get("clear", "1")),
            )
        if scheme == "usb":
            vendor, _, product = parts.netloc.partition(":")
            return UsbTransport(
                int(vendor, 16),
                int(product, 16),
                timeout=timeout,
                in_ep=int(query.get("in_ep", "0x82"), 0),
                out_ep=int(query.get("out_ep", "0x01"), 0),
                confirm=confirm,
            )
        if scheme == "serial":
            if not parts.path:
                raise ValueError("no device path")
            return SerialTransport(
                parts.path,
                baudrate=int(query.get("baudrate", "9600")),
                flow=query.get("flow", "dsrdtr"),
                timeout=timeout,
                confirm=confirm,
            )
        if scheme == "file":
            if not parts.path:
                raise ValueError("no file path")
            return FileTransport(parts.path, timeout=timeout)
        if scheme == "virtual":
            return virtual_printer(parts.netloc or parts.path.strip("/"))
    except ValueError as exc:
        raise ValueError(f"bad printer URI {uri!r}: {exc}") from None
    raise ValueError(
        f"unknown printer URI scheme in {uri!r}; use tcp://, usb://, serial://, file:// or virtual://"
    )


def uri_can_confirm(uri: str) -> bool:
    """Whether a printer at this URI can answer status requests at all (a file cannot)."""
    return urlsplit(uri).scheme.lower() in {"tcp", "usb", "serial", "virtual", ""}


def _flag(value: str) -> bool:
    return value.lower() in {"1", "true", "yes", "on"}


Ask = Callable[[bytes], "int | None"]


def _confirmed_send(
    ask: Ask, write: Callable[[bytes], None], data: bytes, *, clear: Callable[[], None] | None
) -> PrinterStatus:
    """Ask before the job, send it, ask again after: printed only if the printer says so.

    Before: a printer out of paper or with its cover open gets nothing, so nothing of
    the ticket waits in it. After: DLE EOT is answered on arrival, behind every byte of
    the job on the same connection; a fault there means the ticket did not come out
    whole, and the buffers are cleared (where the model can) so the retry prints it once.
    """
    before, reason = full_status(*_ask_four(ask))
    if reason == "timeout":
        raise PrinterError("timeout", "Принтер не ответил на запрос состояния")
    if reason is not None:
        raise PrinterError(reason, before.error)
    write(data)
    after, reason = full_status(*_ask_four(ask))
    if reason == "timeout":
        raise PrinterError("unconfirmed", "Принтер не подтвердил печать: связь прервалась")
    if reason is not None:
        if clear is not None:
            with contextlib.suppress(OSError, PrinterError):
                clear()
        raise PrinterError(reason, after.error)
    return PrinterStatus(online=True, paper=after.paper, confirmed=True)


def _ask_four(ask: Ask) -> tuple[int | None, int | None, int | None, int | None]:
    online = ask(DLE_EOT_PRINTER)
    if online is None:
        return None, None, None, None
    return online, ask(DLE_EOT_OFFLINE_CAUSE), ask(DLE_EOT_ERROR), ask(DLE_EOT_PAPER)


# --- TCP (port 9100, "raw" / JetDirect) ---------------------------------------------------


class TcpTransport:
    """Send raw bytes to a network printer; one connection per job."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_TCP_PORT,
        *,
        timeout: float = 2.0,
        confirm: bool = True,
        clear_buffer: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.confirm = confirm
        self.clear_buffer = clear_buffer

    def __repr__(self) -> str:
        return f"TcpTransport({self.host!r}, {self.port})"

    @property
    def confirms(self) -> bool:
        return self.confirm

    def send(self, data: bytes) -> PrinterStatus:
        """Connect, ask, send the job, ask again, close; each wait bounded by `timeout`."""
        try:
            with self._connect(self.timeout) as sock:
                if not self.confirm:
                    _send_chunks(sock, data, self.timeout)
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_WR)
                    return UNKNOWN

                def ask(command: bytes) -> int | None:
                    return _ask_socket(sock, command, monotonic() + self.timeout)

                def clear() -> None:
                    sock.settimeout(self.timeout)
                    sock.sendall(DLE_DC4_CLEAR_BUFFERS)
                    _await_bytes(sock, CLEAR_RESPONSE, monotonic() + self.timeout)

                return _confirmed_send(
                    ask,
                    lambda job: _send_chunks(sock, job, self.timeout),
                    data,
                    clear=clear if self.clear_buffer else None,
                )
        except PrinterError:
            raise
        except OSError as exc:
            raise _socket_error(exc) from exc

    def status(self) -> PrinterStatus:
        """Ask DLE EOT 1, 4 (and 2 when offline), all within `timeout` seconds."""
        deadline = monotonic() + self.timeout
        try:
            sock = self._connect(self.timeout)
        except OSError as exc:
            return PrinterStatus(online=False, error=_socket_error(exc).message)
        with sock:
            online, paper, cause = _ask_all(lambda cmd: _ask_socket(sock, cmd, deadline))
        return combine(online, paper, cause)

    def _connect(self, timeout: float) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        # Each status question is three bytes sent right after the job: with Nagle's
        # algorithm they wait for the job's acknowledgement, which the printer delays
        # (up to 40 ms on Linux), several times a ticket.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


def _send_chunks(sock: socket.socket, data: bytes, timeout: float) -> None:
    # The timeout is per chunk: a slow printer draining a long raster job is fine,
    # a printer that takes nothing for `timeout` seconds is not.
    sock.settimeout(timeout)
    view = memoryview(data)
    while view:
        sent = sock.send(view[:_CHUNK])
        view = view[sent:]


def _ask_all(ask: Callable[[bytes], int | None]) -> tuple[int | None, int | None, int | None]:
    online = ask(DLE_EOT_PRINTER)
    if online is None:
        return None, None, None
    paper = ask(DLE_EOT_PAPER)
    cause = None if parse_online(online) else ask(DLE_EOT_OFFLINE_CAUSE)
    return online, paper, cause


def _ask_socket(sock: socket.socket, command: bytes, deadline: float) -> int | None:
    """Send one DLE EOT and wait for its status byte until `deadline`."""
    try:
        sock.settimeout(_remaining(deadline))
        sock.sendall(command)
        while True:
            sock.settimeout(_remaining(deadline))
            chunk = sock.recv(1)
            if not chunk:
                return None
            if is_status_byte(chunk[0]):
                return chunk[0]
    except (TimeoutError, OSError):
        return None


def _await_bytes(sock: socket.socket, expected: bytes, deadline: float) -> None:
    """Read until `expected` arrives (the printer's answer to a command) or the deadline."""
    seen = b""
    while expected not in seen:
        sock.settimeout(_remaining(deadline))
        chunk = sock.recv(16)
        if not chunk:
            return
        seen = (seen + chunk)[-64:]


def _remaining(deadline: float) -> float:
    left = deadline - monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _socket_error(exc: OSError) -> PrinterError:
    if isinstance(exc, ConnectionRefusedError):
        return PrinterError("refused", "Принтер отклонил подключение")
    if isinstance(exc, TimeoutError):
        return PrinterError("timeout", "Принтер не отвечает")
    if isinstance(exc, socket.gaierror):
        return PrinterError("offline", "Адрес принтера не найден")
    if isinstance(exc, BrokenPipeError | ConnectionResetError | ConnectionAbortedError):
        return PrinterError("io", "Связь с принтером прервалась")
    if exc.errno in {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}:
        return PrinterError("offline", "Принтер недоступен по сети")
    return PrinterError("io", f"Ошибка связи с принтером: {exc.strerror or exc}")


# --- a device file (/dev/usb/lp0) or a plain file ---------------------------------------


class FileTransport:
    """Write each job to a device file, never blocking longer than the timeout."""

    def __init__(self, path: str, *, timeout: float = 2.0) -> None:
        self.path = path
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"FileTransport({self.path!r})"

    @property
    def confirms(self) -> bool:
        return False  # a device file has no way back: jobs are sent, not confirmed

    def send(self, data: bytes) -> PrinterStatus:
        """Append the job to the file; a full device buffer waits at most `timeout`."""
        # No O_CREAT: a missing /dev/usb/lp0 means an unplugged printer, not a new file.
        flags = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | os.O_NOCTTY
        try:
            fd = os.open(self.path, flags)
        except OSError as exc:
            raise _file_error(exc) from exc
        try:
            _write_nonblocking(fd, data, self.timeout)
        except OSError as exc:
            raise _file_error(exc) from exc
        finally:
            os.close(fd)
        return UNKNOWN

    def status(self) -> PrinterStatus:
        """Report offline when the device file is gone; anything more is unknown."""
        if not os.path.exists(self.path):
            return PrinterStatus(online=False, error="Принтер не подключён")
        return UNKNOWN


def _write_nonblocking(fd: int, data: bytes, timeout: float) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            written = 0
        if written:
            view = view[written:]
            continue
        _, ready, _ = select.select([], [fd], [], timeout)
        if not ready:
            raise PrinterError("timeout", "Принтер не принимает данные")


def _file_error(exc: OSError) -> PrinterError:
    if exc.errno in {errno.ENOENT, errno.ENODEV, errno.ENXIO}:
        return PrinterError("offline", "Принтер не подключён")
    if exc.errno == errno.ENOSPC:  # what the usblp driver reports for an empty roll
        return PrinterError("paper_out", "В принтере закончилась бумага")
    if exc.errno in {errno.EACCES, errno.EPERM}:
        return PrinterError("io", "Нет доступа к принтеру")
    if exc.errno == errno.EBUSY:
        return PrinterError("io", "Принтер занят другой программой")
    return PrinterError("io", f"Ошибка связи с принтером: {exc.strerror or exc}")


# --- USB through python-escpos (needs pyusb) ---------------------------------------------


class UsbTransport:
    """Send to a USB printer by vendor and product id with python-escpos's Usb."""

    def __init__(
        self,
        vendor_id: int,
        product_id: int,
        *,
        timeout: float = 2.0,
        in_ep: int = 0x82,
        out_ep: int = 0x01,
        confirm: bool = True,
    ) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.timeout = timeout
        self.in_ep = in_ep
        self.out_ep = out_ep
        self.confirm = confirm

    def __repr__(self) -> str:
        return f"UsbTransport({self.vendor_id:04x}:{self.product_id:04x})"

    @property
    def confirms(self) -> bool:
        return self.confirm

    def send(self, data: bytes) -> PrinterStatus:
        """Open the device, write the job (asking before and after it), release the device."""
        with self._opened() as device:

            def write(job: bytes) -> None:
                # The opened pyusb device (escpos' public `device`), as _ask uses it: the
                # bulk endpoint takes the whole job within the timeout, in milliseconds.
                try:
                    device.device.write(self.out_ep, job, self._millis())
                except Exception as exc:
                    raise _usb_error(exc) from exc

            if not self.confirm:
                write(data)
                return UNKNOWN
            return _confirmed_send(
                lambda command: self._ask(device, command, monotonic() + self.timeout),
                write,
                data,
                clear=None,
            )

    def status(self) -> PrinterStatus:
        """Ask DLE EOT over the USB endpoints within the timeout."""
        deadline = monotonic() + self.timeout
        try:
            with self._opened() as device:
                return combine(*_ask_all(lambda command: self._ask(device, command, deadline)))
        except PrinterError as exc:
            return PrinterStatus(online=False, error=exc.message)

    def _millis(self) -> int:
        return max(1, int(self.timeout * 1000))  # pyusb counts milliseconds

    def _ask(self, device: Any, command: bytes, deadline: float) -> int | None:
        try:
            millis = int(_remaining(deadline) * 1000) or 1
            device.device.write(self.out_ep, command, millis)
            millis = int(_remaining(deadline) * 1000) or 1
            answer = device.device.read(self.in_ep, 16, millis)
        except Exception:
            return None
        found = [byte for byte in answer if is_status_byte(byte)]
        return found[-1] if found else None

    @contextlib.contextmanager
    def _opened(self) -> Iterator[Any]:
        try:
            from escpos.printer import Usb
        except ImportError:  # pragma: no cover - python-escpos is a dependency
            raise PrinterError("io", "Не установлена поддержка USB") from None
        # Constructing Usb without pyusb would raise later, even from its __del__.
        if not Usb.is_usable():
            raise PrinterError("io", "Не установлена поддержка USB (pyusb)")
        device = Usb(
            self.vendor_id,
            self.product_id,
            timeout=self._millis(),
            in_ep=self.in_ep,
            out_ep=self.out_ep,
        )
        try:
            try:
                device.open()
            except Exception as exc:
                raise _usb_error(exc) from exc
            yield device
        finally:
            with contextlib.suppress(Exception):
                device.close()


def _usb_error(exc: BaseException) -> PrinterError:
    text = str(exc)
    code = getattr(exc, "errno", None)
    if type(exc).__name__ == "DeviceNotFoundError" or code == errno.ENODEV:
        return PrinterError("offline", "Принтер не найден на USB")
    if "Timeout" in type(exc).__name__ or code == errno.ETIMEDOUT:
        return PrinterError("timeout", "Принтер не отвечает")
    if code == errno.EBUSY or "busy" in text.lower():
        return PrinterError("io", "Принтер занят другой программой")
    if code in {errno.EACCES, errno.EPERM}:
        return PrinterError("io", "Нет доступа к принтеру")
    return PrinterError("io", f"Ошибка USB: {text}")


# --- serial port (needs pyserial) --------------------------------------------------------

_FLOW: Final[dict[str, dict[str, bool]]] = {
    "none": {},
    "dsrdtr": {"dsrdtr": True},
    "rtscts": {"rtscts": True},
    "xonxoff": {"xonxoff": True},
}


class SerialTransport:
    """Send to a serial printer with pyserial, write timeout included."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        flow: str = "dsrdtr",
        timeout: float = 2.0,
        confirm: bool = True,
    ) -> None:
        if flow not in _FLOW:
            raise ValueError(f"flow must be one of {sorted(_FLOW)}, got {flow!r}")
        self.port = port
        self.baudrate = baudrate
        self.flow = flow
        self.timeout = timeout
        self.confirm = confirm

    def __repr__(self) -> str:
        return f"SerialTransport({self.port!r}, baudrate={self.baudrate})"

    @property
    def confirms(self) -> bool:
        return self.confirm

    def send(self, data: bytes) -> PrinterStatus:
        """Open the port, write and drain the job (asking before and after it), close."""
        with self._opened() as port:

            def write(job: bytes) -> None:
                try:
                    port.write(job)
                    port.flush()
                except Exception as exc:
                    raise _serial_error(exc) from exc

            if not self.confirm:
                write(data)
                return UNKNOWN
            return _confirmed_send(
                lambda command: _ask_serial(port, command, monotonic() + self.timeout),
                write,
                data,
                clear=None,
            )

    def status(self) -> PrinterStatus:
        """Ask DLE EOT over the port within the timeout."""
        deadline = monotonic() + self.timeout
        try:
            with self._opened() as port:
                return combine(*_ask_all(lambda command: _ask_serial(port, command, deadline)))
        except PrinterError as exc:
            return PrinterStatus(online=False, error=exc.message)

    @contextlib.contextmanager
    def _opened(self) -> Iterator[Any]:
        try:
            import serial
        except ImportError:
            raise PrinterError("io", "Не установлена поддержка COM-порта (pyserial)") from None
        try:
            port = serial.Serial(
                port=self.port,
                baudrate=self.baudrate,
                timeout=self.timeout,
                write_timeout=self.timeout,
                **_FLOW[self.flow],
            )
        except Exception as exc:
            raise _serial_error(exc) from exc
        try:
            yield port
        finally:
            with contextlib.suppress(Exception):
                port.close()


def _ask_serial(port: Any, command: bytes, deadline: float) -> int | None:
    try:
        port.write_timeout = _remaining(deadline)
        port.write(command)
        port.timeout = _remaining(deadline)
        answer: bytes = port.read(1)
    except Exception:
        return None
    return answer[0] if answer and is_status_byte(answer[0]) else None


def _serial_error(exc: BaseException) -> PrinterError:
    if "Timeout" in type(exc).__name__:
        return PrinterError("timeout", "Принтер не отвечает")
    code = getattr(exc, "errno", None)
    if code in {errno.ENOENT, errno.ENODEV, errno.ENXIO} or "could not open port" in str(exc):
        return PrinterError("offline", "Принтер не подключён")
    if code == errno.EBUSY:
        return PrinterError("io", "Принтер занят другой программой")
    return PrinterError("io", f"Ошибка COM-порта: {exc}")
