"""The optional on-premises language model: an OpenAI-compatible ``/chat/completions`` inside
the company's network (llama.cpp server, vLLM, Ollama). Off by default; an administrator
switches it on (``SummaryModel``). The personal data the administrator marks is masked before
sending; every exchange is written to ``ModelExchange`` (what was sent, what came back). A
model that fails, times out or answers garbage costs nothing: the built-in summary is shown
and the failure is logged.
"""

import json
import logging
import re
import socket
import time
import urllib.error
import urllib.request

from django.utils.translation import gettext as _
from django.utils.translation import override

from .models import ExchangeStatus, MaskedField, ModelExchange, SummaryModel

log = logging.getLogger(__name__)

MAX_ANSWER = 4000  # characters; longer is not a summary
MAX_RESPONSE = 256 * 1024  # bytes read from the model at most

_PHONE = re.compile(r"(?<!\w)\+?\d[\d\s\-()]{7,}\d(?!\w)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PASSPORT = re.compile(r"(?<!\d)\d{2}\s?\d{2}\s?№?\s?\d{6}(?!\d)")


def _stem(word: str) -> str:
    """A name without its last letter matches its Russian cases (Сидорова → Сидоровой,
    Анна → Анны); masking a little too much is the safe side."""
    return word[:-1] if len(word) >= 4 else word


def _replace_words(text: str, words: set[str], placeholder: str) -> str:
    stems = {_stem(w) for w in words if w and len(w) > 1}
    for stem in sorted(stems, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(stem)}\w*", placeholder, text, flags=re.IGNORECASE)
    return text


def mask(text: str, client, fields: list[str]) -> str:
    """``text`` with the client's marked personal data replaced by placeholders."""
    fields = set(fields or [])
    if MaskedField.NAMES in fields:
        names = {client.last_name, client.first_name, client.middle_name, client.company_name}
        names |= {p.name for p in client.people.all()}
        names = {part for name in names if name for part in name.split()}
        text = _replace_words(text, names, "[NAME]")
    if MaskedField.EMAILS in fields:
        text = _EMAIL.sub("[EMAIL]", text)
    if MaskedField.PASSPORT in fields:
        text = _PASSPORT.sub("[PASSPORT]", text)
        for value in (client.passport_number, client.passport_code, client.passport_issued_by):
            if value:
                text = text.replace(value, "[PASSPORT]")
    if MaskedField.PHONES in fields:
        text = _PHONE.sub("[PHONE]", text)
    if MaskedField.ADDRESS in fields:
        for value in (client.address, client.registration_address):
            if value:
                text = text.replace(value, "[ADDRESS]")
    if MaskedField.BIRTH_DATE in fields and client.birth_date:
        for shape in ("%d.%m.%Y", "%Y-%m-%d"):
            text = text.replace(client.birth_date.strftime(shape), "[BIRTH DATE]")
    return text


def prompt(summary, client, language: str) -> str:
    from .summary import as_text

    with override(language):
        words = as_text(summary)
        lines = [_("Facts:")] + [f"- {f}" for f in words["facts"]]
        if words["sentences"]:
            lines.append(_("From the notes:"))
            lines += [f"- {s['at']}: {s['text']}" for s in words["sentences"]]
        return "\n".join(lines)


def instruction(language: str) -> str:
    with override(language):
        return _(
            "You summarise a real-estate buyer's history for a call-centre operator who is "
            "about to talk to them. Write three to five short sentences: what they want, "
            "where they are in the purchase, what was promised. Use only the facts given."
        )


def summarise(*, summary, client, language: str, config: SummaryModel | None = None) -> str:
    """The model's summary in ``language``, or ``""`` (off, failed, timed out, garbage)."""
    config = config or SummaryModel.current()
    if not (config.enabled and config.url):
        return ""
    sent = mask(prompt(summary, client, language), client, config.masked)
    body = {
        "model": config.model or "default",
        "messages": [
            {"role": "system", "content": instruction(language)},
            {"role": "user", "content": sent},
        ],
        "temperature": 0.2,
        "max_tokens": 400,
        "stream": False,
    }
    data = json.dumps(body, ensure_ascii=False).encode()
    url = config.url.rstrip("/") + "/chat/completions"
    headers = {"Content-Type": "application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    started = time.monotonic()
    received, status, answer = "", ExchangeStatus.ERROR, ""
    try:
        with urllib.request.urlopen(request, timeout=config.timeout) as response:  # noqa: S310
            received = response.read(MAX_RESPONSE).decode("utf-8", "replace")
        answer = _content(received)
        status = ExchangeStatus.OK if answer else ExchangeStatus.GARBAGE
    except TimeoutError:
        status = ExchangeStatus.TIMEOUT
    except urllib.error.URLError as error:
        status = (
            ExchangeStatus.TIMEOUT
            if isinstance(error.reason, (TimeoutError, socket.timeout))
            else ExchangeStatus.ERROR
        )
        received = str(error.reason)[:1000]
    except (OSError, ValueError) as error:
        received = str(error)[:1000]
    ModelExchange.objects.create(
        client=client,
        url=url[:300],
        sent=json.dumps(body, ensure_ascii=False),
        received=received[:20000],
        status=status,
        milliseconds=int((time.monotonic() - started) * 1000),
    )
    if status != ExchangeStatus.OK:
        log.warning("summary model %s for client %s: %s", url, client.pk, status)
        return ""
    return answer


def _content(received: str) -> str:
    """The answer's text, or ``""`` when it is not a chat-completions answer with text."""
    try:
        doc = json.loads(received)
        content = doc["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
    if not isinstance(content, str):
        return ""
    content = content.strip()
    if not content or len(content) > MAX_ANSWER:
        return ""
    return content
