"""Forms of holds and the queue. They validate input; the rules live in the services."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.models import Role, User
from kvartal.accounts.scoping import row_scope
from kvartal.clients.picker import ClientField
from kvartal.core.widgets import DateTimeField

from ..models import HoldBasis, HoldKind, HoldTerm

CUSTOM = "custom"
SELLERS = (Role.SALES_MANAGER, Role.SALES_HEAD)


def _term_choices(custom_label) -> list[tuple[str, str]]:
    terms = [(str(t.days), str(t)) for t in HoldTerm.offered()]
    return [*terms, (CUSTOM, custom_label)]


def manager_choices(user):
    """Whom ``user`` may hold for: themselves, and the sellers whose rows they see."""
    users = row_scope(user).people(User.objects.filter(is_active=True, role__in=SELLERS))
    return User.objects.filter(pk__in=users.values("pk")) | User.objects.filter(pk=user.pk)


class SellerField(forms.ModelChoiceField):
    """The manager a row goes to (``manager_choices``). The signed-in user is always one of
    the choices, so choosing them (a manager always does: the field is hidden) needs no
    query: the user the request already read is the answer the query would give."""

    user = None

    def to_python(self, value):
        user = self.user
        if user is not None and value not in self.empty_values and str(value) == str(user.pk):
            return user
        return super().to_python(value)


class ClientPickMixin:
    """An existing client the user sees, or a new one typed in (last name, first name,
    phone); and the manager the row belongs to."""

    def _setup_people(self, user):
        self.user = user
        self.fields["client"].pick_for(user)
        seller = self.fields["manager"]
        seller.initial = user.pk
        seller.user = user
        if row_scope(user).own_only:
            # A manager holds for themselves: nothing to choose. ``manager_choices`` of one
            # who sees only their own rows is themselves; said without building it.
            seller.queryset = User.objects.filter(pk=user.pk)
            seller.widget = forms.HiddenInput()
        else:
            seller.queryset = manager_choices(user).order_by("last_name", "first_name")

    def _clean_people(self, cleaned):
        if cleaned.get("client") is None:
            for name in ("last_name", "first_name", "phone"):
                if not (cleaned.get(name) or "").strip():
                    self.add_error(name, _("Choose a client above or give this for a new one."))

    def new_client(self) -> dict | None:
        if self.cleaned_data.get("client") is not None:
            return None
        return {n: self.cleaned_data[n].strip() for n in ("last_name", "first_name", "phone")}


def _people_fields():
    return {
        "client": ClientField(label=_("Client"), required=False, empty_label=_("— a new client —")),
        "last_name": forms.CharField(label=_("New client: last name"), required=False),
        "first_name": forms.CharField(label=_("First name"), required=False),
        "phone": forms.CharField(label=_("Phone"), required=False, max_length=32),
        "manager": SellerField(label=_("Manager"), queryset=User.objects.none()),
    }


class HoldForm(ClientPickMixin, forms.Form):
    """Hold a unit: for whom, what kind, how long, why."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        fields = _people_fields()
        fields.update(
            kind=forms.ChoiceField(label=_("Kind"), choices=HoldKind.choices),
            amount=forms.DecimalField(
                label=_("Amount paid, ₽"),
                required=False,
                min_value=0,
                max_digits=14,
                decimal_places=2,
                help_text=_("For a paid reservation."),
            ),
            receipt_number=forms.CharField(
                label=_("Receipt number"), required=False, max_length=50
            ),
            term=forms.ChoiceField(
                label=_("Term"), choices=_term_choices(_("Until a date and time…"))
            ),
            expires_at=DateTimeField(
                label=_("Until"),
                required=False,
                help_text=_("For a custom term."),
            ),
            basis=forms.ChoiceField(label=_("Basis"), choices=HoldBasis.choices),
            comment=forms.CharField(
                label=_("Comment"),
                required=False,
                widget=forms.Textarea(attrs={"rows": 2}),
                max_length=2000,
            ),
        )
        self.fields.update(fields)
        self._setup_people(user)
        if len(self.fields["term"].choices) > 1:
            self.fields["term"].initial = self.fields["term"].choices[0][0]

    def clean(self):
        cleaned = super().clean()
        self._clean_people(cleaned)
        if cleaned.get("term") == CUSTOM and cleaned.get("expires_at") is None:
            self.add_error("expires_at", _("Give the end date and time."))
        return cleaned

    def hold_kwargs(self) -> dict:
        data = self.cleaned_data
        custom = data["term"] == CUSTOM
        return {
            "client": data.get("client"),
            "new_client": self.new_client(),
            "manager": data["manager"],
            "kind": data["kind"],
            "amount": data.get("amount"),
            "receipt_number": data.get("receipt_number", ""),
            "days": None if custom else int(data["term"]),
            "expires_at": data["expires_at"] if custom else None,
            "basis": data["basis"],
            "comment": data.get("comment", ""),
        }


class ExtendForm(forms.Form):
    """Extend a hold: by a preset number of days from its current end, or to a date."""

    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, hold, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["term"] = forms.ChoiceField(
            label=_("Extend by"), choices=_term_choices(_("Until a date and time…"))
        )
        self.fields["expires_at"] = DateTimeField(
            label=_("Until"),
            required=False,
            initial=timezone.localtime(hold.expires_at + timedelta(days=1)).replace(
                second=0, microsecond=0, tzinfo=None
            ),
        )
        self.order_fields(["term", "expires_at", "reason"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("term") == CUSTOM and cleaned.get("expires_at") is None:
            self.add_error("expires_at", _("Give the new end date and time."))
        return cleaned

    def extend_kwargs(self) -> dict:
        data = self.cleaned_data
        custom = data["term"] == CUSTOM
        return {
            "days": None if custom else int(data["term"]),
            "expires_at": data["expires_at"] if custom else None,
            "reason": data["reason"],
        }


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class QueueForm(ClientPickMixin, forms.Form):
    """Queue a client for a held unit."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(_people_fields())
        self.fields["comment"] = forms.CharField(label=_("Comment"), required=False, max_length=300)
        self._setup_people(user)

    def clean(self):
        cleaned = super().clean()
        self._clean_people(cleaned)
        return cleaned


class HoldListFilter(forms.Form):
    """The holds list: live ones by default; mine / ending soon."""

    show = forms.ChoiceField(
        label=_("Show"),
        required=False,
        choices=[
            ("", _("Live holds")),
            ("ending", _("Ending soon")),
            ("ended", _("Ended")),
        ],
    )
    mine = forms.BooleanField(label=_("Only mine"), required=False)
