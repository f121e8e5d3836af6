"""The client picker of the hold, queue and deal forms: a search, not a list of every client.

``ClientField`` is a ``ModelChoiceField`` over the clients the user sees (``for_user``
scoping, set by the form as its queryset); its widget shows a search box (name or phone) and
a select holding only the chosen client and the clients found — at most ``LIMIT``, one query
— never the whole table. With JavaScript (``static/kvartal/client-picker.js``) the select
fills as one types, from ``clients:pick`` (the same search, the same scoping); without it,
the "Find" button posts the form back and the page comes again with the clients found
(``search_pressed`` tells the view not to act on that post).
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.forms.utils import ErrorDict
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kvartal.core.ids import parse_id

LIMIT = 20
FIND = "_find"  # the name of the no-JavaScript "Find" button: <field name>_find
QUERY = "_q"  # the search box: <field name>_q


def _casings(text: str) -> list[str]:
    """SQLite folds the case of Latin letters only: "смирнов" must find "Смирнова" there."""
    return sorted({text, text.lower(), text.capitalize(), text.upper()})


def _digits(text: str) -> str:
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.lstrip().startswith("+7"):
        return digits[1:]
    if len(digits) >= 5 and digits[0] == "8":  # 8 912 … is +7 912 …
        return digits[1:]
    if len(digits) == 11 and digits[0] == "7":
        return digits[1:]
    return digits


def search_q(text: str) -> Q | None:
    """Clients matching what was typed: digits only (four or more) are a part of the phone
    (``+7``/``8`` prefixes as people type them); otherwise every word is the start of a last,
    first, middle or company name, or a run of digits in the phone. None for an empty or too
    short search."""
    text = text.strip()
    if not any(ch.isalpha() for ch in text):
        digits = _digits(text)
        return Q(phone_normalized__contains=digits) if len(digits) >= 4 else None
    wanted = Q()
    for word in text.split()[:4]:
        if word.isdigit():
            wanted &= Q(phone_normalized__contains=word)
            continue
        either = Q()
        for variant in _casings(word):
            for name in ("last_name", "first_name", "middle_name", "company_name"):
                either |= Q(**{f"{name}__startswith": variant})
        wanted &= either
    return wanted


def matching(clients, text: str, *, limit: int = LIMIT):
    """The query of ``find_clients``: the first ``limit + 1`` of ``clients`` (already scoped)
    matching ``text``, by name; None for an empty or too short search."""
    wanted = search_q(text)
    if wanted is None:
        return None
    return (
        clients.filter(wanted)
        .only("kind", "last_name", "first_name", "middle_name", "company_name", "phone")
        .order_by("last_name", "first_name", "company_name", "pk")[: limit + 1]
    )


def find_clients(clients, text: str, *, limit: int = LIMIT) -> tuple[list, bool]:
    """The first ``limit`` of ``clients`` (already scoped) matching ``text``, by name, in
    one query; and whether there were more."""
    query = matching(clients, text, limit=limit)
    if query is None:
        return [], False
    rows = list(query)
    return rows[:limit], len(rows) > limit


def label(client) -> str:
    """What the picker shows: the name and the phone, to tell namesakes apart."""
    name = str(client)
    return f"{name} · {client.phone}" if client.phone else name


class ClientPicker(forms.Select):
    template_name = "clients/widgets/client_picker.html"
    option_template_name = "django/forms/widgets/select_option.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.field = None  # its ``ClientField``, whose queryset is the clients to search
        self.query = ""
        self.empty_label = ""

    def value_from_datadict(self, data, files, name):
        self.query = (data.get(name + QUERY) or "").strip()[:100]
        return super().value_from_datadict(data, files, name)

    def get_context(self, name, value, attrs):
        chosen = next((v for v in self.format_value(value) if v), "")
        found, more, shown = [], False, []
        query = None if self.field is None else self.field.queryset
        if query is not None:
            if self.query:
                found, more = find_clients(query, self.query)
            if parse_id(chosen) is not None and all(str(c.pk) != chosen for c in found):
                shown = list(query.filter(pk=chosen).only(*_LABEL_FIELDS))
        self.choices = [("", self.empty_label)] + [(c.pk, label(c)) for c in shown + found]
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            query=self.query,
            query_name=name + QUERY,
            find_name=name + FIND,
            url=reverse("clients:pick"),
            found=len(found),
            more=more,
            searched=bool(self.query),
        )
        return context


_LABEL_FIELDS = ("kind", "last_name", "first_name", "middle_name", "company_name", "phone")


CHOOSE = _("— choose a client —")


class ClientField(forms.ModelChoiceField):
    """A client of ``queryset``, picked by search: the form sets the user's scoped clients as
    the queryset, or — for new work — ``pick_for(user)``: the clients ``user`` may pick
    (``selectors.pickable``), the one sent looked up by ``selectors.pickable_client`` and the
    queryset built only when something reads it (the picker drawn)."""

    widget = ClientPicker
    user = None  # ``pick_for``

    def __init__(self, *args, empty_label=CHOOSE, **kwargs):
        kwargs.setdefault("queryset", _none())
        super().__init__(*args, empty_label=empty_label, **kwargs)
        self.widget.empty_label = empty_label or ""
        self.widget.field = self

    def pick_for(self, user) -> None:
        self.user = user
        self._queryset = None

    def _get_queryset(self):
        if self._queryset is None and self.user is not None:
            from .selectors import pickable

            self._queryset = pickable(self.user).order_by("last_name", "first_name", "pk")
        return self._queryset

    def _set_queryset(self, queryset):
        self.user = None
        super()._set_queryset(queryset)

    queryset = property(_get_queryset, _set_queryset)

    def to_python(self, value):
        if self.user is None or value in self.empty_values:
            return super().to_python(value)
        from .selectors import pickable_client

        found = pickable_client(self.user, parse_id(getattr(value, "pk", value)))
        if found is None:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return found

    def __deepcopy__(self, memo):
        result = super().__deepcopy__(memo)
        result.widget.field = result
        result.widget.empty_label = self.widget.empty_label
        return result


def _none():
    from .models import Client

    return Client.objects.none()


def search_pressed(*forms_) -> bool:
    """True when the post is the picker's "Find" button (no JavaScript): the view shows the
    page again with the clients found, acts on nothing and shows no errors."""
    for form in forms_:
        members = list(getattr(form, "forms", None) or [form])
        data = getattr(form, "data", {}) or {}
        if any(key.endswith(FIND) for key in data):
            for member in members:
                member._errors = ErrorDict()
            if hasattr(form, "_non_form_errors"):
                form._non_form_errors = form.error_class()
                form._errors = [ErrorDict() for _member in members]
            return True
    return False
