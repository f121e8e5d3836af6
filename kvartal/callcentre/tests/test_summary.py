"""The history summary: the facts of a hand-built history, key sentences extracted offline,
the optional on-premises model (a local server speaking OpenAI chat completions) receiving
masked data, and the fallbacks when it times out or answers garbage."""

import json
import socket
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from kvartal.clients.models import Interaction, Need, Task, Visit
from kvartal.sales.models import Payment
from kvartal.sales.tests.factories import make_client, make_unit

from .. import summary as summary_module
from ..models import (
    Call,
    CallState,
    ExchangeStatus,
    HistorySummary,
    ModelExchange,
    SummaryModel,
)
from ..services import summary_refresh
from .factories import make_system

pytestmark = pytest.mark.django_db

NOTES = [
    "Клиент хочет двухкомнатную квартиру у метро для семьи.",
    "Снова звонил: интересует двухкомнатная квартира в ЖК Северный, ипотека одобрена.",
    "Просил прислать планировки двухкомнатных квартир на почту ivanov@example.com.",
    "Ок.",
]


@pytest.fixture
def history(manager):
    """A client with calls, a visit, a need, a hold, a deal with a payment, a task, notes."""
    from kvartal.clients.tests.factories import make_deal, make_hold

    buyer = make_client(
        manager=manager,
        last_name="Иванов",
        first_name="Пётр",
        phone="+7 912 345-67-89",
        phone_normalized="+79123456789",
    )
    now = timezone.now()
    system = make_system()
    for i, state in enumerate([CallState.ENDED, CallState.ENDED, CallState.MISSED]):
        Call.objects.create(
            system=system,
            external_id=f"h{i}",
            client=buyer,
            phone="+79123456789",
            state=state,
            started_at=now - timedelta(days=10 - i),
            answered_at=None if state == CallState.MISSED else now - timedelta(days=10 - i),
        )
    Visit.objects.create(client=buyer, at=now - timedelta(days=5), received_by=manager)
    Need.objects.create(
        client=buyer, title="Для семьи", purpose="family", rooms=[2], budget_max=Decimal(9_000_000)
    )
    held, bought = make_unit(), make_unit()
    make_hold(unit=held, client=buyer, manager=manager)
    deal = make_deal(unit=bought, buyers=[buyer], manager=manager)
    Payment.objects.create(deal=deal, amount=Decimal("500000"), received_on=now.date())
    Task.objects.create(
        title="Отправить планировки", client=buyer, due_at=now + timedelta(days=1), assignee=manager
    )
    for i, text in enumerate(NOTES):
        Interaction.objects.create(
            client=buyer, kind="note", text=text, at=now - timedelta(days=9 - i), by=manager
        )
    return buyer, held, deal


def test_the_summary_has_the_facts_of_the_history(history):
    buyer, held, deal = history
    with override("en"):
        text = summary_module.as_text(summary_module.compute(buyer))
    facts = "\n".join(text["facts"])
    assert "3 calls (2 answered, 1 missed)" in facts
    assert "1 visit to the sales office" in facts
    assert "Looks for: Для семьи; for the family; rooms: 2; budget — – 9,000,000 ₽" in facts
    assert f"Holds {held}" in facts
    assert f"Deal {deal.number}" in facts
    assert "Paid in total: 500,000 ₽" in facts
    assert "Open promise: Отправить планировки" in facts
    with override("ru"):
        russian = "\n".join(summary_module.as_text(summary_module.compute(buyer))["facts"])
    assert "3 звонка" in russian and "Оплачено всего" in russian


def test_key_sentences_are_extracted_offline(history, monkeypatch):
    """No network and no NLTK data: the extraction still works."""
    import nltk

    def no_network(*args, **kwargs):
        raise OSError("the network is closed in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(nltk.data, "path", ["/nonexistent"])
    buyer, _held, _deal = history
    sentences = [s["text"] for s in summary_module.compute(buyer).sentences]
    assert len(sentences) == 3
    assert "Ок." not in sentences  # too short to inform
    assert NOTES[1] in sentences  # the one with the most recurring words


def test_the_model_is_off_by_default(history):
    buyer, _held, _deal = history
    row = summary_refresh(client=buyer)
    assert row.model_texts == {} and not ModelExchange.objects.exists()


class ChatServer:
    """A local server speaking the OpenAI chat-completions protocol: it records what it got
    and answers as told (``ok``, ``slow``, ``garbage``)."""

    def __init__(self, mode="ok"):
        self.mode, self.received = mode, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                outer.received.append((self.path, json.loads(self.rfile.read(length))))
                if outer.mode == "slow":
                    time.sleep(2)
                if outer.mode == "garbage":
                    body = b"<html>Bad gateway</html>"
                else:
                    body = json.dumps(
                        {
                            "id": "cmpl-1",
                            "object": "chat.completion",
                            "choices": [
                                {
                                    "index": 0,
                                    "message": {
                                        "role": "assistant",
                                        "content": "Ищет двушку для семьи; ипотека одобрена.",
                                    },
                                    "finish_reason": "stop",
                                }
                            ],
                        },
                        ensure_ascii=False,
                    ).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat():
    servers = []

    def start(mode="ok", timeout=5):
        server = ChatServer(mode)
        servers.append(server)
        SummaryModel.objects.create(enabled=True, url=server.url, model="local", timeout=timeout)
        return server

    yield start
    for server in servers:
        server.close()


def test_the_model_receives_masked_data_and_its_answer_is_kept(history, chat, client, operator):
    buyer, _held, _deal = history
    Interaction.objects.create(
        client=buyer, kind="note", text="Иванов просил звонить на 8 912 345-67-89"
    )
    server = chat("ok")
    row = summary_refresh(client=buyer)
    assert row.model_texts["ru"] == "Ищет двушку для семьи; ипотека одобрена."
    assert len(server.received) == len(settings.LANGUAGES)  # one per language
    path, body = server.received[0]
    assert path == "/v1/chat/completions" and body["model"] == "local"
    sent = json.dumps(body, ensure_ascii=False)
    for secret in ("Иванов", "912 345-67-89", "ivanov@example.com", "Пётр"):
        assert secret not in sent
    assert "[NAME]" in sent and "[PHONE]" in sent
    audit = ModelExchange.objects.filter(client=buyer, status=ExchangeStatus.OK)
    assert audit.count() == len(settings.LANGUAGES) and "Иванов" not in audit.first().sent
    # the panel shows the model's text
    client.force_login(operator)
    page = client.get(reverse("callcentre:subject", args=["client", buyer.pk]))
    assert "ипотека одобрена." in page.content.decode()


@pytest.fixture
def operator(db):
    from .factories import make_operator

    return make_operator("101")


def test_every_marked_field_is_masked(manager):
    from datetime import date

    from ..llm import mask
    from ..models import MaskedField

    buyer = make_client(
        manager=manager,
        last_name="Сидорова",
        first_name="Мария",
        passport_number="4510 123456",
        address="ул. Ленина, 5",
        birth_date=date(1990, 3, 8),
    )
    text = (
        "Сидоровой Марии: +7 (912) 000-11-22, maria@example.org, паспорт 4510 123456, "
        "ул. Ленина, 5, родилась 08.03.1990"
    )
    masked = mask(text, buyer, list(MaskedField.values))
    assert masked == (
        "[NAME] [NAME]: [PHONE], [EMAIL], паспорт [PASSPORT], [ADDRESS], родилась [BIRTH DATE]"
    )
    assert mask(text, buyer, []) == text  # nothing marked: nothing masked


@pytest.mark.parametrize("mode,status", [("slow", "timeout"), ("garbage", "garbage")])
def test_a_failing_model_leaves_the_built_in_summary(history, chat, mode, status, caplog):
    buyer, _held, _deal = history
    chat(mode, timeout=1)
    row = summary_refresh(client=buyer)
    assert row.model_texts == {}
    assert row.facts and row.sentences  # the built-in one is there
    assert set(ModelExchange.objects.values_list("status", flat=True)) == {status}
    assert "summary model" in caplog.text


def test_a_model_nobody_listens_to_is_a_logged_failure(history):
    buyer, _held, _deal = history
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    SummaryModel.objects.create(enabled=True, url=f"http://127.0.0.1:{port}/v1", timeout=1)
    row = summary_refresh(client=buyer)
    assert row.model_texts == {}
    assert ModelExchange.objects.filter(status=ExchangeStatus.ERROR).count() == len(
        settings.LANGUAGES
    )


def test_a_note_from_the_panel_recomputes_the_summary_by_a_job(
    history, client, operator, django_capture_on_commit_callbacks
):
    buyer, _held, _deal = history
    client.force_login(operator)
    url = reverse("callcentre:note", args=["client", buyer.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"text": "Готов подписать договор в понедельник вечером."})
    assert response.status_code == 200
    row = HistorySummary.objects.get(client=buyer)
    assert row.facts


def test_the_client_card_shows_the_summary(history, client, manager):
    buyer, _held, _deal = history
    client.force_login(manager)
    page = client.get(reverse("sales:client-detail", args=[buyer.pk]))
    html = page.content.decode()
    assert "Summary of the history" in html and "3 calls" in html


def test_the_summary_rounds_roubles_as_the_pages_do():
    """2 001 000,55 ₽ received read 2 001 000 ₽ here (the kopecks cut) and 2 001 001 ₽ on
    the cashier's page and in the client's event feed (rounded)."""
    from kvartal.core.templatetags.kvartal import money

    with override("ru"):
        text = summary_module.fact_text({"code": "paid", "amount": Decimal("2001000.55")})
        assert text == f"Оплачено всего: {money(Decimal('2001000.55'))} ₽"
        assert "2 001 001" in text.replace("\xa0", " ")
