"""Channels through Apprise: check a channel URL at configuration time, send, redact logs.

Apprise's ``notify`` is blocking: :func:`send` must run in a worker thread, never in
the event loop. Apprise (and urllib3 under it) log addresses and webhook paths at
debug and info level, so a filter on their loggers rewrites every record that is
emitted while a channel is being checked or used, and always for Apprise's own
logger: addresses, URLs and long digit runs become ``<redacted>``.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import apprise
from apprise.utils.parse import is_email as _is_email
from apprise.utils.parse import parse_emails as _parse_emails

from bastion.core.errors import ConfigError

CHANNEL_SCHEMES: dict[str, frozenset[str]] = {
    "email": frozenset({"mailto", "mailtos"}),
    "sms": frozenset(
        {
            "twilio",
            "sns",
            "clicksend",
            "d7sms",
            "msg91",
            "vonage",
            "nexmo",
            "plivo",
            "sinch",
            "bulksms",
            "bulkvs",
            "smseagle",
            "smseagles",
            "signal",
            "signals",
            "httpsms",
            "seven",
            "json",
            "jsons",
            "form",
            "forms",
        }
    ),
    "chat": frozenset(
        {
            "slack",
            "msteams",
            "workflow",
            "workflows",
            "matrix",
            "matrixs",
            "mmost",
            "mmosts",
            "rocket",
            "rockets",
            "discord",
            "gchat",
            "zulip",
            "tgram",
        }
    ),
    "webhook": frozenset({"json", "jsons", "form", "forms", "xml", "xmls"}),
    "pa": frozenset({"json", "jsons", "form", "forms", "xml", "xmls"}),
}
"""Apprise schemes accepted per channel kind (PA/intercom systems are reached by webhook)."""

REDACTED = "<redacted>"
_SECRETS: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "bastion_notify_secrets", default=()
)
_PATTERNS = (
    re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S+"),  # any URL
    re.compile(r"[^\s@'\"<>(),;:]+@[^\s@'\"<>(),;]+"),  # e-mail addresses
    re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE) /\S*"),  # request lines (webhook paths)
    re.compile(r"url: /\S*"),  # urllib3 "Max retries exceeded with url: /path"
    re.compile(r"\+?\d[\d\s\-().]{5,}\d"),  # phone numbers and other long digit runs
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Return ``text`` with the given secrets, URLs, addresses and phone numbers removed."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class _RedactingFilter(logging.Filter):
    """Rewrite log records that may carry an address, a phone number or a webhook token."""

    def __init__(self, *, always: bool) -> None:
        super().__init__()
        self.always = always

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = _SECRETS.get()
        if not self.always and not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact(message, secrets)
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return True


_INSTALLED = False
_SETUP_LOCK = threading.Lock()


def install_log_redaction() -> None:
    """Load Apprise's plugins and put the redacting filter on its loggers (once per process).

    Apprise imports its plugins lazily, and one of them imports the deprecated
    ``imghdr`` module; the DeprecationWarning is silenced for that one load only.
    """
    global _INSTALLED
    with _SETUP_LOCK:
        if _INSTALLED:
            return
        logging.getLogger("apprise").addFilter(_RedactingFilter(always=True))
        for name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
            logging.getLogger(name).addFilter(_RedactingFilter(always=False))
        from apprise.manager_plugins import NotificationManager

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            NotificationManager().load_modules()  # type: ignore[no-untyped-call]
        _INSTALLED = True


@contextlib.contextmanager
def handling(url: str) -> Iterator[None]:
    """Mark the current context as handling ``url`` so that logs never show its parts."""
    install_log_redaction()
    token = _SECRETS.set(_secret_parts(url))
    try:
        yield
    finally:
        _SECRETS.reset(token)


def _secret_parts(url: str) -> tuple[str, ...]:
    parts = [url]
    with contextlib.suppress(ValueError):
        split = urlsplit(url)
        parts += [split.netloc, split.path, unquote(split.path), split.query]
        if split.username:
            parts.append(split.username)
        if split.password:
            parts.append(split.password)
        for segment in split.path.split("/"):
            parts.append(unquote(segment))
        for _, value in parse_qsl(split.query):
            parts.append(value)
    return tuple(p for p in parts if p)


def _emails(value: str) -> list[str]:
    found: Any = _parse_emails(value)  # type: ignore[no-untyped-call]
    return [str(v) for v in found or ()]


def _valid_email(value: str) -> bool:
    return bool(_is_email(value))  # type: ignore[no-untyped-call]


def scheme_of(url: str) -> str:
    """Return the lower-case scheme of ``url`` ('' when it has none)."""
    head, sep, _ = url.partition("://")
    return head.strip().lower() if sep else ""


def check_channel(kind: str, url: str, *, field: str = "url") -> None:
    """Raise ConfigError unless ``url`` is an Apprise URL of the right kind with valid addresses.

    The message never repeats the URL (it may hold a token or an address).
    """
    if kind not in CHANNEL_SCHEMES:
        raise ConfigError(
            f"unknown channel kind {kind!r}; use one of {', '.join(CHANNEL_SCHEMES)}", field=field
        )
    scheme = scheme_of(url)
    allowed = CHANNEL_SCHEMES[kind]
    if scheme not in allowed:
        raise ConfigError(
            f"a {kind} channel needs one of the schemes {', '.join(sorted(allowed))}; "
            f"got {scheme or 'no scheme'!r}",
            field=field,
        )
    with handling(url):
        plugin = apprise.Apprise.instantiate(url)
        if not plugin:
            raise ConfigError(
                f"the {kind} channel URL is not valid for Apprise ({scheme}://…)", field=field
            )
        if kind == "email":
            _check_email_recipients(url, field=field)


def _check_email_recipients(url: str, *, field: str) -> None:
    split = urlsplit(url)
    candidates: list[str] = []
    for key, value in parse_qsl(split.query):
        if key.lower() in {"to", "cc", "bcc"}:
            candidates += _emails(value)
    for segment in split.path.split("/"):
        if segment:
            candidates += _emails(unquote(segment))
    if not candidates and not _valid_email(f"{split.username}@{split.hostname}"):
        raise ConfigError("the email channel names no recipient address", field=field)
    bad = sum(1 for c in candidates if not _valid_email(c))
    if bad:
        raise ConfigError(f"the email channel holds {bad} invalid e-mail address(es)", field=field)


def hint_for(kind: str, url: str) -> str:
    """Return a masked, displayable hint of a channel (e.g. ``a•••@example.com``)."""
    scheme = scheme_of(url)
    if kind == "email":
        split = urlsplit(url)
        for key, value in parse_qsl(split.query):
            if key.lower() == "to":
                first = next(iter(_emails(value)), "")
                local, _, domain = first.partition("@")
                if local and domain:
                    return f"{local[0]}•••@{domain}"
        for segment in split.path.split("/"):
            local, _, domain = unquote(segment).partition("@")
            if local and domain:
                return f"{local[0]}•••@{domain}"
    return f"{scheme}://•••"


@dataclass(frozen=True)
class SendResult:
    """What a channel answered: success, or a failure reason with personal data removed."""

    ok: bool
    detail: str = ""


def send(url: str, *, title: str, body: str, urgent: bool = False) -> SendResult:
    """Send one message over one channel; return the outcome (never raises).

    Blocking: must run in a worker thread.
    """
    with handling(url):
        secrets = _SECRETS.get()
        try:
            # Sequential mode keeps the call in this thread (and inside our log context).
            instance = apprise.Apprise(asset=apprise.AppriseAsset(async_mode=False))
            if not instance.add(url):
                return SendResult(False, "the channel URL is no longer valid")
            result = instance.notify(
                body=body,
                title=title,
                notify_type=apprise.NotifyType.WARNING if urgent else apprise.NotifyType.INFO,
            )
            with result:
                ok = bool(result)
                reasons = [
                    redact(entry.message, secrets)
                    for entry in result.logs()
                    if entry.level in {"WARNING", "ERROR", "CRITICAL"}
                ]
        except Exception as exc:  # a plugin bug must not stop the call tree
            return SendResult(False, redact(f"{type(exc).__name__}: {exc}", secrets))
        if ok:
            return SendResult(True)
        return SendResult(False, "; ".join(dict.fromkeys(reasons)) or "the channel refused")
