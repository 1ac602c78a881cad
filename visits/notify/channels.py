"""Channel adapters: how one outbox row leaves the building.

Each adapter is chosen by a URI in `[messaging]` of the office config:

- e-mail: `smtp://user:pass@host:587?starttls=1`, `smtps://user:pass@host:465`, `log://`
- SMS: `https://sms.ru/sms/send` (an HTTP gateway; key, format and parameter
  names in `[messaging]`), `log://`
- phone: no adapter; the sender turns the row into a call task for the operators.

An adapter raises ChannelError; `permanent=True` means a retry cannot help
(a refused address), so the sender fails the row at once.
"""

from __future__ import annotations

import html
import json
import logging
import re
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from visits.config import Messaging

log = logging.getLogger(__name__)


class ChannelError(Exception):
    """The channel did not take the message."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Envelope:
    """What an adapter needs of a row: plain values, no session."""

    message_id: int
    channel: str
    recipient: str
    subject: str
    body: str
    short_body: str


class MessageChannel(Protocol):
    def send(self, envelope: Envelope) -> str:
        """Send one message; return the gateway's id or a note for the history."""
        ...


def _mask(recipient: str) -> str:
    """Keep logs free of full addresses and phone numbers."""
    if "@" in recipient:
        name, _, domain = recipient.partition("@")
        return f"{name[:1]}***@{domain}"
    return f"***{recipient[-4:]}"


class LogChannel:
    """Writes the message to the application log (the demo and development)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, envelope: Envelope) -> str:
        text = envelope.short_body or envelope.body
        log.info(
            "message %s by %s to %s: %s | %s",
            envelope.message_id,
            self.name,
            _mask(envelope.recipient),
            envelope.subject,
            text.replace("\n", " / "),
        )
        return "записано в журнал"


_URL = re.compile(r"(https?://[^\s<]+)")


def html_of(text: str) -> str:
    """The HTML part of an e-mail: paragraphs per line, links clickable."""
    paragraphs = []
    for line in text.split("\n"):
        escaped = html.escape(line)
        paragraphs.append("<p>" + _URL.sub(r'<a href="\1">\1</a>', escaped) + "</p>")
    return (
        '<!doctype html><html lang="ru"><body style="font-family:Arial,sans-serif;'
        'font-size:16px;line-height:1.4">' + "".join(paragraphs) + "</body></html>"
    )


class SmtpChannel:
    """E-mail over SMTP: plain text and HTML parts; STARTTLS or SSL; login if given."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        use_ssl: bool = False,
        starttls: bool = False,
        username: str = "",
        password: str = "",
        timeout: float = 15.0,
        verify: bool = True,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.use_ssl, self.starttls = use_ssl, starttls
        self.username, self.password = username, password
        self.timeout = timeout
        self.verify = verify

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def send(self, envelope: Envelope) -> str:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = envelope.recipient
        msg["Subject"] = envelope.subject
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=f"priyom{envelope.message_id}")
        msg.set_content(envelope.body)
        msg.add_alternative(html_of(envelope.body), subtype="html")
        try:
            smtp: smtplib.SMTP
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.starttls:
                    smtp.starttls(context=self._context())
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"адрес отклонён: {exc.recipients}", permanent=True) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(f"SMTP не принял логин: {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        if refused:
            raise ChannelError(f"адрес отклонён: {refused}", permanent=True)
        log.info("e-mail %s sent to %s", envelope.message_id, _mask(envelope.recipient))
        return str(msg["Message-ID"])


def sms_fit(text: str, limit: int) -> str:
    """Cut a text to the gateway's limit at a word boundary, marking the cut with "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > 0:
        cut = cut[:space]
    return cut.rstrip(" ,.;:—-") + "…"


class SmsGatewayChannel:
    """SMS through an HTTP gateway; SMS.ru's request and answer by default."""

    def __init__(self, *, url: str, settings: Messaging) -> None:
        self.url = url
        self.settings = settings

    def _params(self, envelope: Envelope) -> dict[str, str]:
        s = self.settings
        params = {
            s.sms_param_to: envelope.recipient.lstrip("+"),
            s.sms_param_text: sms_fit(envelope.short_body or envelope.body, s.sms_max_length),
        }
        if s.sms_api_id:
            params[s.sms_param_key] = s.sms_api_id
        if s.sms_sender:
            params["from"] = s.sms_sender
        if s.sms_format == "smsru":
            params["json"] = "1"
        return params

    def send(self, envelope: Envelope) -> str:
        s = self.settings
        data = urllib.parse.urlencode(self._params(envelope))
        if s.sms_method == "GET":
            joiner = "&" if "?" in self.url else "?"
            request = urllib.request.Request(self.url + joiner + data, method="GET")
        else:
            request = urllib.request.Request(
                self.url,
                data=data.encode(),
                method="POST",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        try:
            with urllib.request.urlopen(request, timeout=s.timeout_seconds) as response:
                answer = response.read(64 * 1024).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise ChannelError(f"шлюз SMS ответил {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ChannelError(f"шлюз SMS недоступен: {exc}") from exc
        if s.sms_format == "smsru":
            return self._smsru_result(answer, envelope)
        log.info("sms %s accepted by the gateway", envelope.message_id)
        return "принято шлюзом"

    def _smsru_result(self, answer: str, envelope: Envelope) -> str:
        """SMS.ru answers 200 with {"status": "OK"|"ERROR", "sms": {phone: {...}}}."""
        try:
            payload = json.loads(answer)
        except ValueError as exc:
            raise ChannelError("шлюз SMS ответил не JSON") from exc
        if payload.get("status") != "OK":
            raise ChannelError(f"шлюз SMS: {payload.get('status_text') or payload}")
        per_phone = payload.get("sms") or {}
        result: dict[str, object] = (
            next(iter(per_phone.values()), {}) if isinstance(per_phone, dict) else {}
        )
        if result and result.get("status") != "OK":
            # A refused number will be refused again: no retries.
            raise ChannelError(
                f"номер отклонён шлюзом: {result.get('status_text', result)}", permanent=True
            )
        log.info("sms %s accepted by the gateway", envelope.message_id)
        return str(result.get("sms_id", "принято шлюзом"))


def _flag(query: dict[str, list[str]], name: str) -> bool:
    return query.get(name, ["0"])[0].lower() in ("1", "true", "yes", "on")


def channel_from_uri(uri: str, settings: Messaging, *, name: str) -> MessageChannel:
    """Build the adapter a config URI names (smtp, smtps, http(s) gateway, log)."""
    parsed = urllib.parse.urlsplit(uri)
    scheme = parsed.scheme.lower()
    if scheme == "log":
        return LogChannel(name)
    if scheme in ("smtp", "smtps"):
        query = urllib.parse.parse_qs(parsed.query)
        return SmtpChannel(
            host=parsed.hostname or "localhost",
            port=parsed.port or (465 if scheme == "smtps" else 25),
            sender=settings.email_from,
            use_ssl=scheme == "smtps",
            starttls=_flag(query, "starttls"),
            username=urllib.parse.unquote(parsed.username or ""),
            password=urllib.parse.unquote(parsed.password or ""),
            timeout=settings.timeout_seconds,
            verify=not _flag(query, "insecure"),
        )
    if scheme in ("http", "https"):
        return SmsGatewayChannel(url=uri, settings=settings)
    raise ValueError(f"messaging: неизвестный способ отправки {uri!r}")


@dataclass
class Channels:
    """The adapters of one office config, by channel name."""

    email: MessageChannel
    sms: MessageChannel

    @classmethod
    def from_settings(cls, settings: Messaging) -> Channels:
        return cls(
            email=channel_from_uri(settings.email_uri, settings, name="email"),
            sms=channel_from_uri(settings.sms_uri, settings, name="sms"),
        )

    def for_channel(self, channel: str) -> MessageChannel:
        if channel == "email":
            return self.email
        if channel == "sms":
            return self.sms
        raise ValueError(f"no adapter for channel {channel!r}")
