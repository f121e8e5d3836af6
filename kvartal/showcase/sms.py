"""Where one-time codes go. ``SHOWCASE_SMS_BACKEND`` names the class.

``LogBackend`` (the default, for the demo and closed networks) writes the message to the log
and, when ``SHOWCASE_SMS_EMAIL`` is set, e-mails it there through Django's e-mail backend.
``HttpBackend`` posts it to an SMS gateway: ``SHOWCASE_SMS_URL`` receives a form with
``to`` and ``text`` and the ``SHOWCASE_SMS_TOKEN`` as a bearer token.
"""

import logging
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.mail import send_mail

log = logging.getLogger("kvartal.showcase.sms")


class LogBackend:
    def send(self, *, phone: str, text: str) -> None:
        log.warning("SMS to %s: %s", phone, text)
        if settings.SHOWCASE_SMS_EMAIL:
            send_mail(f"SMS {phone}", text, None, [settings.SHOWCASE_SMS_EMAIL])


class HttpBackend:
    def send(self, *, phone: str, text: str) -> None:
        body = urllib.parse.urlencode({"to": phone, "text": text}).encode()
        request = urllib.request.Request(settings.SHOWCASE_SMS_URL, data=body, method="POST")
        if settings.SHOWCASE_SMS_TOKEN:
            request.add_header("Authorization", f"Bearer {settings.SHOWCASE_SMS_TOKEN}")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (a setting)
            response.read()


class MemoryBackend:
    """Keeps the messages in ``MemoryBackend.outbox`` (tests; a demo without a log)."""

    outbox: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str) -> None:
        self.outbox.append((phone, text))
