"""Bank statements in: the 1C exchange format Russian banks export (1CClientBankExchange) and
CSV, matched to deals, then recorded by the payment service after the cashier confirms.

Matching, in order: the deal number in the payment's purpose (``Д-2026-00012``, also written
without the letter); else a buyer of exactly one open deal whose name the payer's starts with.
A line is "ready" when its amount does not exceed what the deal still owes; otherwise it is
shown with the reason and left for the cashier. Nothing is recorded until the cashier
confirms, and then all chosen lines are recorded in one transaction or none.
"""

import csv
import io
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kvartal.core.errors import DomainError
from kvartal.sales.models import Deal, DealBuyer, Payment
from kvartal.sales.services.payments import payment_record

from .models import StatementImport

MAX_BYTES = 10 * 1024 * 1024
MAX_AMOUNT = Decimal(10**12)  # a payment holds 14 digits, 2 of them kopecks
NUMBER = re.compile(r"(?:[ДD]\s*[-‑–]?\s*)?(20\d{2})\s*[-‑–/]\s*(\d{1,5})\b")


STATES = {
    "ready": gettext_lazy("ready"),
    "check": gettext_lazy("check"),
    "unmatched": gettext_lazy("no deal"),
    "duplicate": gettext_lazy("already recorded"),
    "outgoing": gettext_lazy("paid out"),
    "recorded": gettext_lazy("recorded"),
}


class StatementError(DomainError):
    code = "statement_invalid"
    field = "file"


@dataclass
class Line:
    number: str
    day: str  # ISO date
    amount: str
    payer: str
    purpose: str
    deal_id: int | None = None
    deal_number: str = ""
    state: str = "unmatched"  # ready, check, unmatched, duplicate, outgoing
    note: str = ""
    extra: dict = field(default_factory=dict)


def _decode(raw: bytes, declared: str = "") -> str:
    encodings = ["cp866"] if declared.upper() == "DOS" else ["utf-8-sig", "cp1251"]
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError(
        _("The file is in an encoding Kvartal cannot read (UTF-8, Windows-1251 or DOS).")
    )


def _amount(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except InvalidOperation:
        raise StatementError(_("“%(text)s” is not an amount.") % {"text": text}) from None
    # NaN, Infinity and amounts beyond a payment's column (14 digits, 2 after the point)
    # are no amounts either.
    if not value.is_finite() or not 0 < value < MAX_AMOUNT or value.as_tuple().exponent < -2:
        raise StatementError(_("“%(text)s” is not an amount.") % {"text": text})
    return value


def _day(text: str) -> date:
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise StatementError(_("“%(text)s” is not a date.") % {"text": text})


def parse_1c(raw: bytes) -> list[Line]:
    head = raw[:400].decode("latin-1", errors="replace")
    if not head.lstrip("\ufeff").startswith("1CClientBankExchange"):
        raise StatementError(_("This is not a 1C bank exchange file (1CClientBankExchange)."))
    text = raw.decode("ascii") if raw.isascii() else None
    for encoding in ("cp1251", "utf-8-sig", "cp866"):
        try:
            candidate = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "СекцияДокумент" in candidate or "КонецФайла" in candidate:
            text = candidate
            break
    if text is None:
        raise StatementError(
            _("The file is in an encoding Kvartal cannot read (UTF-8, Windows-1251 or DOS).")
        )
    lines, doc = [], None
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if line.startswith("СекцияДокумент"):
            doc = {}
        elif line == "КонецДокумента" and doc is not None:
            payer = doc.get("Плательщик1") or doc.get("Плательщик", "")
            try:
                item = Line(
                    number=doc.get("Номер", ""),
                    day=_day(doc.get("ДатаПоступило") or doc.get("Дата", "")).isoformat(),
                    amount=str(_amount(doc.get("Сумма", ""))),
                    payer=payer,
                    purpose=doc.get("НазначениеПлатежа", ""),
                )
            except StatementError as error:
                raise StatementError(
                    _("Document %(number)s: %(error)s")
                    % {"number": doc.get("Номер", "?"), "error": error}
                ) from None
            if doc.get("ДатаСписано") and not doc.get("ДатаПоступило"):
                item.state, item.note = "outgoing", _("Money paid out, not received.")
            lines.append(item)
            doc = None
        elif doc is not None and "=" in line:
            key, value = line.split("=", 1)
            doc[key] = value
    if not lines:
        raise StatementError(_("The file has no payment documents."))
    return lines


HEADERS = {
    "date": ("date", "дата"),
    "amount": ("amount", "сумма"),
    "payer": ("payer", "плательщик"),
    "purpose": ("purpose", "назначение", "назначение платежа"),
    "number": ("number", "номер"),
}


def parse_csv(raw: bytes) -> list[Line]:
    text = _decode(raw)
    sample = text[:2000]
    delimiter = ";" if sample.count(";") >= sample.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    if not rows:
        raise StatementError(_("The file is empty."))
    header = [h.strip().lower() for h in rows[0]]
    columns = {}
    for name, aliases in HEADERS.items():
        for i, h in enumerate(header):
            if h in aliases:
                columns[name] = i
    missing = [n for n in ("date", "amount", "payer", "purpose") if n not in columns]
    if missing:
        raise StatementError(_("Missing columns: %(names)s.") % {"names": ", ".join(missing)})
    lines = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue

        def cell(name, row=row):
            index = columns.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        try:
            lines.append(
                Line(
                    number=cell("number"),
                    day=_day(cell("date")).isoformat(),
                    amount=str(_amount(cell("amount"))),
                    payer=cell("payer"),
                    purpose=cell("purpose"),
                )
            )
        except StatementError as error:
            raise StatementError(_("Row %(row)s: %(error)s") % {"row": n, "error": error}) from None
    if not lines:
        raise StatementError(_("The file has no payment rows."))
    return lines


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("ё", "е")).strip()


def match(lines: list[Line], user) -> list[Line]:
    """Propose a deal for every received line (the deals the cashier sees, ``for_user``)."""
    deals = {
        d.number: d
        for d in Deal.objects.for_user(user)
        .filter(is_active=True)
        .annotate(received=Sum("payments__amount"))
    }
    by_id = {d.pk: d for d in deals.values()}
    buyers: dict[str, set[int]] = {}
    for part in DealBuyer.objects.filter(deal_id__in=list(by_id)).select_related("client"):
        c = part.client
        key = _norm(f"{c.last_name} {c.first_name}")
        if key.strip():
            buyers.setdefault(key, set()).add(part.deal_id)
    for line in lines:
        if line.state == "outgoing":
            continue
        deal = None
        for year, seq in NUMBER.findall(line.purpose):
            deal = deals.get(f"Д-{year}-{int(seq):05d}")
            if deal:
                line.note = _("Deal number in the purpose.")
                break
        if deal is None:
            payer = _norm(line.payer)
            found = {d for key, ids in buyers.items() if payer.startswith(key) for d in ids}
            if len(found) == 1:
                deal = by_id[found.pop()]
                line.note = _("The payer is the deal's buyer.")
        if deal is None:
            line.state, line.note = (
                "unmatched",
                _("No deal number in the purpose and no buyer of that name."),
            )
            continue
        line.deal_id, line.deal_number = deal.pk, deal.number
        outstanding = deal.total_due - (deal.received or 0)
        if Decimal(line.amount) > outstanding:
            line.state = "check"
            line.note = _("More than the deal still owes (%(owed)s ₽).") % {
                "owed": f"{outstanding:.2f}"
            }
        else:
            line.state = "ready"
    # Lines already recorded (same deal, document, amount and day): one query for them all.
    matched = [line for line in lines if line.deal_id and line.number]
    recorded = set(
        Payment.objects.filter(deal_id__in={line.deal_id for line in matched}).values_list(
            "deal_id", "document", "amount", "received_on"
        )
    )
    for line in matched:
        key = (line.deal_id, line.number, Decimal(line.amount), date.fromisoformat(line.day))
        if key in recorded:
            line.state, line.note = "duplicate", _("Already recorded.")
    return lines


def statement_load(*, data: bytes, file_name: str, by) -> StatementImport:
    """Parse and match a statement; nothing is recorded yet."""
    if len(data) > MAX_BYTES:
        raise StatementError(_("The file is larger than 10 MB."))
    if b"\x00" in data[:4000]:
        raise StatementError(
            _("The file is in an encoding Kvartal cannot read (UTF-8, Windows-1251 or DOS).")
        )
    kind = "1c" if data.lstrip(b"\xef\xbb\xbf")[:20].startswith(b"1CClientBankExchange") else "csv"
    lines = parse_1c(data) if kind == "1c" else parse_csv(data)
    lines = match(lines, by)
    return StatementImport.objects.create(
        uploaded_by=by, file_name=file_name[:200], kind=kind, lines=[asdict(line) for line in lines]
    )


@transaction.atomic
def statement_apply(*, statement: StatementImport, chosen: list[int], by) -> int:
    """Record the chosen lines (indexes) through the payment service, all or none."""
    statement = StatementImport.objects.select_for_update().get(pk=statement.pk)
    if statement.applied_at:
        raise StatementError(_("This statement is recorded already."))
    count = 0
    for index in chosen:
        if not 0 <= index < len(statement.lines):
            raise StatementError(_("No such line."))
        line = statement.lines[index]
        if line["state"] not in ("ready", "check") or not line["deal_id"]:
            raise StatementError(_("Line %(n)s has no deal to record it to.") % {"n": index + 1})
        deal = Deal.objects.for_user(by).filter(pk=line["deal_id"]).first()
        if deal is None:
            raise StatementError(_("Line %(n)s has no deal to record it to.") % {"n": index + 1})
        payment_record(
            deal=deal,
            amount=Decimal(line["amount"]),
            received_on=date.fromisoformat(line["day"]),
            by=by,
            document=line["number"][:64],
            channel=_("bank statement")[:64],
        )
        line["state"] = "recorded"
        count += 1
    statement.applied_at = timezone.now()
    statement.recorded = count
    statement.save(update_fields=["lines", "applied_at", "recorded"])
    return count
