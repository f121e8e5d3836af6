"""A client's history summarised inside Kvartal (E5): the facts plus the most informative
sentences of the notes, extracted with ``sumy`` (Luhn's method) — no internet at run time.

sumy's own tokenizers call NLTK's ``punkt`` models, which are downloaded data; this module
uses its own sentence and word splitting (regular expressions), sumy's document model and
summariser, NLTK's Snowball stemmer (code, no data) and a stop-word list kept here for Russian
(sumy ships none) and sumy's bundled one for English. The tests run it with the network and
NLTK's data path closed.

Facts are stored as data (codes and numbers) and put into words when shown, in the reader's
language; the extracted sentences are quoted as written.
"""

import re
from datetime import datetime

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.nlp.stemmers import Stemmer
from sumy.summarizers.luhn import LuhnSummarizer
from sumy.utils import get_stop_words

from kvartal.clients.models import (
    Client,
    InteractionKind,
    Need,
    NeedChange,
    NeedStatus,
    Purpose,
)
from kvartal.core.templatetags.kvartal import money
from kvartal.sales.models import Hold, HoldState, Payment
from kvartal.sales.selectors.clients import client_deals

from .models import Call, CallAnswer, CallState, HistorySummary

SENTENCES = 3
MIN_WORDS = 3  # "Ок." informs nobody
MAX_TEXTS = 200  # the newest notes read; older history is in the facts

# --- offline tokenisation ------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)

# Common Russian function words (sumy ships no Russian list; NLTK's needs a download).
_RUSSIAN_STOP_WORDS = """
    а без более бы был была были было быть в вам вас весь во вот все всё всего всех вы где да
    даже для до его ее её если есть еще ещё же за здесь и из или им их к как какой когда кто ли
    либо мне может мы на над надо наш не него нее неё нет ни них но ну о об однако он она они
    оно от очень по под после потому при про с сам себя со так также такой там те тем то того
    тоже только том ту тут ты у уже хотя чего чей чем что чтобы чуть эта эти это этот я
"""
RUSSIAN_STOP_WORDS = frozenset(_RUSSIAN_STOP_WORDS.split())


class OfflineTokenizer:
    """What sumy asks of a tokenizer, without NLTK's downloadable models."""

    def __init__(self, language: str):
        self.language = language

    def to_sentences(self, text: str) -> list[str]:
        return [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]

    def to_words(self, sentence: str) -> list[str]:
        return _WORD.findall(sentence or "")


def language_of(texts: list[str]) -> str:
    sample = " ".join(texts)[:5000]
    cyrillic = len(_CYRILLIC.findall(sample))
    return "russian" if cyrillic * 3 > len(sample.replace(" ", "")) else "english"


def key_sentences(texts: list[tuple[datetime, str]], count: int = SENTENCES) -> list[dict]:
    """The ``count`` most informative sentences of ``texts`` (dated), in time order."""
    texts = [(at, t.strip()) for at, t in texts if t and t.strip()]
    if not texts:
        return []
    language = language_of([t for _at, t in texts])
    tokenizer = OfflineTokenizer(language)
    dated, paragraphs = {}, []
    for at, text in texts:
        sentences = []
        for s in tokenizer.to_sentences(text):
            if len(tokenizer.to_words(s)) >= MIN_WORDS:
                sentences.append(Sentence(s, tokenizer))
                dated.setdefault(s, at)
        if sentences:
            paragraphs.append(Paragraph(sentences))
    if not paragraphs:
        return []
    summarizer = LuhnSummarizer(Stemmer(language))
    summarizer.stop_words = (
        RUSSIAN_STOP_WORDS if language == "russian" else get_stop_words("english")
    )
    best = summarizer(ObjectDocumentModel(paragraphs), count)
    chosen = [(dated[str(s)], str(s)) for s in best]
    chosen.sort(key=lambda pair: pair[0])
    return [{"at": at.isoformat(), "text": text} for at, text in chosen]


# --- the facts -----------------------------------------------------------------------------


def _iso(value):
    return value.isoformat() if value else None


def _money(value):
    return str(value) if value is not None else None


def gather(client: Client, *, now=None) -> tuple[list[dict], list[tuple[datetime, str]]]:
    """The facts of ``client``'s history and the dated texts to extract sentences from."""
    now = now or timezone.now()
    facts: list[dict] = []
    calls = Call.objects.filter(client=client).aggregate(
        n=Count("pk"),
        answered=Count("pk", filter=Q(answered_at__isnull=False)),
        missed=Count("pk", filter=Q(state=CallState.MISSED)),
    )
    last_call = Call.objects.filter(client=client).order_by("-started_at").first()
    if calls["n"]:
        facts.append(
            {
                "code": "calls",
                "n": calls["n"],
                "answered": calls["answered"],
                "missed": calls["missed"],
                "last": _iso(last_call.started_at),
            }
        )
    first_lead = client.leads.select_related("channel").order_by("created_at").first()
    if first_lead is not None:
        facts.append(
            {
                "code": "since",
                "at": _iso(first_lead.created_at),
                "channel": first_lead.channel.code,
                "channel_name": first_lead.channel.name,
                "leads": client.leads.count(),
            }
        )
    visits = list(client.visits.order_by("at").prefetch_related("units_shown"))
    if visits:
        facts.append({"code": "visits", "n": len(visits), "last": _iso(visits[-1].at)})
    needs = list(Need.objects.filter(client=client).prefetch_related("projects"))
    for need in needs:
        if need.status != NeedStatus.ACTIVE:
            continue
        facts.append(
            {
                "code": "need",
                "title": need.title,
                "purpose": need.purpose,
                "rooms": need.rooms,
                "budget_min": _money(need.budget_min),
                "budget_max": _money(need.budget_max),
                "projects": [p.name for p in need.projects.all()],
            }
        )
    changes = NeedChange.objects.filter(need__client=client).count()
    if changes:
        facts.append({"code": "need_changes", "n": changes, "needs": len(needs)})
    holds = list(Hold.objects.filter(client=client).select_related("unit").order_by("starts_at"))
    units = {str(h.unit): h.price for h in holds}
    for visit in visits:
        for unit in visit.units_shown.all():
            units.setdefault(str(unit), unit.price)
    if units:
        prices = [p for p in units.values() if p]
        facts.append(
            {
                "code": "units",
                "units": list(units)[:8],
                "n": len(units),
                "price_min": _money(min(prices)) if prices else None,
                "price_max": _money(max(prices)) if prices else None,
            }
        )
    for hold in holds:
        if hold.state == HoldState.ACTIVE and hold.expires_at > now:
            facts.append(
                {
                    "code": "hold",
                    "unit": str(hold.unit),
                    "kind": hold.kind,
                    "until": _iso(hold.expires_at),
                }
            )
    deals = list(client_deals(client))
    for deal in deals:
        facts.append(
            {
                "code": "deal",
                "number": deal.number,
                "unit": str(deal.unit),
                "stage": str(deal.stage),
                "price": _money(deal.price),
                "active": deal.is_active,
            }
        )
    paid = Payment.objects.filter(deal__in=[d.pk for d in deals]).aggregate(s=Sum("amount"))["s"]
    if paid:
        facts.append({"code": "paid", "amount": _money(paid)})
    for task in client.tasks.open().order_by("due_at")[:5]:
        facts.append(
            {
                "code": "task",
                "title": task.title,
                "due": _iso(task.due_at),
                "overdue": task.due_at < now,
            }
        )
    answers = (
        CallAnswer.objects.filter(call__client=client).select_related("step").order_by("-at")[:5]
    )
    for a in answers:
        facts.append({"code": "answer", "question": a.step.text[:120], "answer": a.answer})

    texts: list[tuple[datetime, str]] = []
    notes = client.interactions.exclude(kind=InteractionKind.CALL).order_by("-at")[:MAX_TEXTS]
    texts += [(i.at, i.text) for i in notes]
    texts += [
        (c.started_at, c.note)
        for c in Call.objects.filter(client=client).exclude(note="").order_by("-started_at")[:50]
    ]
    texts += [(v.at, v.asked_about) for v in visits if v.asked_about]
    texts += [(n.created_at, n.comment) for n in needs if n.comment]
    return facts, texts


def compute(client: Client, *, now=None) -> HistorySummary:
    """The built-in summary of ``client`` (not saved)."""
    facts, texts = gather(client, now=now)
    return HistorySummary(
        client=client,
        facts=facts,
        sentences=key_sentences(texts),
        computed_at=now or timezone.now(),
    )


# --- in the reader's language --------------------------------------------------------------


def _when(value) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else value
    return date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT") if moment else "—"


def _rub(value) -> str:
    """Whole roubles, rounded as every page rounds them (``money``; cutting the kopecks
    showed 2 001 000 ₽ here where the cashier's page said 2 001 001 ₽)."""
    return f"{money(value)} ₽" if value else "—"


def fact_text(fact: dict) -> str:
    code = fact.get("code")
    if code == "calls":
        return ngettext(
            "%(n)d call (%(answered)d answered, %(missed)d missed), the last on %(last)s",
            "%(n)d calls (%(answered)d answered, %(missed)d missed), the last on %(last)s",
            fact["n"],
        ) % {**fact, "last": _when(fact["last"])}
    if code == "since":
        return _("A client since %(at)s (came through: %(channel)s); requests: %(leads)d") % {
            "at": _when(fact["at"]),
            "channel": _(fact["channel_name"]),
            "leads": fact["leads"],
        }
    if code == "visits":
        return ngettext(
            "%(n)d visit to the sales office, the last on %(last)s",
            "%(n)d visits to the sales office, the last on %(last)s",
            fact["n"],
        ) % {"n": fact["n"], "last": _when(fact["last"])}
    if code == "need":
        parts = []
        if fact.get("title"):
            parts.append(fact["title"])
        if fact.get("purpose") in Purpose.values:
            parts.append(str(Purpose(fact["purpose"]).label).lower())
        if fact.get("rooms"):
            parts.append(
                _("rooms: %(rooms)s")
                % {"rooms": ", ".join(_("studio") if r == 0 else str(r) for r in fact["rooms"])}
            )
        if fact.get("budget_min") or fact.get("budget_max"):
            parts.append(
                _("budget %(low)s – %(high)s")
                % {"low": _rub(fact.get("budget_min")), "high": _rub(fact.get("budget_max"))}
            )
        if fact.get("projects"):
            parts.append(", ".join(fact["projects"]))
        return _("Looks for: %(what)s") % {"what": "; ".join(parts) or "—"}
    if code == "need_changes":
        return ngettext(
            "Needs changed %(n)d time",
            "Needs changed %(n)d times",
            fact["n"],
        ) % {"n": fact["n"]}
    if code == "units":
        return _("Units of interest (%(n)d): %(units)s; prices %(low)s – %(high)s") % {
            "n": fact["n"],
            "units": ", ".join(fact["units"]),
            "low": _rub(fact.get("price_min")),
            "high": _rub(fact.get("price_max")),
        }
    if code == "hold":
        return _("Holds %(unit)s until %(until)s") % {
            "unit": fact["unit"],
            "until": _when(fact["until"]),
        }
    if code == "deal":
        text = _("Deal %(number)s: %(unit)s, stage “%(stage)s”, %(price)s") % {
            **fact,
            "price": _rub(fact.get("price")),
        }
        return text if fact.get("active") else text + " " + _("(closed)")
    if code == "paid":
        return _("Paid in total: %(amount)s") % {"amount": _rub(fact["amount"])}
    if code == "task":
        text = _("Open promise: %(title)s, due %(due)s") % {
            "title": fact["title"],
            "due": _when(fact["due"]),
        }
        return text + " " + _("(overdue)") if fact.get("overdue") else text
    if code == "answer":
        return _("Said: %(question)s — %(answer)s") % fact
    return ""


def as_text(summary: HistorySummary) -> dict:
    """The summary in the current language: ``facts`` (lines), ``sentences`` (dated quotes),
    ``model`` (the model's text in this language, if any)."""
    from django.utils.translation import get_language

    language = (get_language() or "ru").lower()  # as in settings.LANGUAGES: "zh-hans"
    texts = summary.model_texts or {}
    return {
        "facts": [t for t in (fact_text(f) for f in summary.facts) if t],
        "sentences": [{"at": _when(s["at"]), "text": s["text"]} for s in (summary.sentences or [])],
        "model": texts.get(language) or texts.get(language.split("-")[0], ""),
        "computed_at": summary.computed_at,
    }
