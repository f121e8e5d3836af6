"""Forms of the clients pages. They validate input; the services hold the rules."""

import re
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kvartal.accounts.models import Role, User
from kvartal.accounts.permissions import CLIENTS_PERSONAL, has_capability
from kvartal.accounts.scoping import row_scope
from kvartal.core.widgets import DateInput, DateTimeField
from kvartal.inventory.models import Building, Project, Unit

from .models import (
    Channel,
    Client,
    ClientKind,
    Consent,
    ContactKind,
    ContactPerson,
    InteractionKind,
    LeadStatus,
    Need,
    NeedPayment,
    Purpose,
    Tag,
)
from .picker import ClientField


def staff_for(user, *, everyone: bool = False):
    """Managers and sales heads ``user`` may give work to: their own rows' people, or every
    active one (``everyone``: handing a client to a colleague)."""
    staff = User.objects.filter(is_active=True, role__in=[Role.SALES_MANAGER, Role.SALES_HEAD])
    return staff if everyone else row_scope(user).people(staff)


PERSON_FIELDS = [
    "last_name",
    "first_name",
    "middle_name",
    "phone",
    "email",
    "telegram",
    "whatsapp",
    "other_messenger",
    "birth_date",
    "address",
    "comment",
]
PASSPORT_FIELDS = [
    "passport_number",
    "passport_issued_by",
    "passport_issued_on",
    "passport_code",
    "registration_address",
]
COMPANY_FIELDS = ["company_name", "inn", "kpp", "phone", "email", "address", "comment"]


class ClientForm(forms.ModelForm):
    """A person's or a company's data. Passport fields only for those who may see them."""

    allow_duplicate = forms.BooleanField(
        label=gettext_lazy("Create anyway: it is a different client"), required=False
    )

    class Meta:
        model = Client
        fields = ["kind", *PERSON_FIELDS, *PASSPORT_FIELDS, "company_name", "inn", "kpp"]
        widgets = {
            "birth_date": DateInput(),
            "comment": forms.Textarea(attrs={"rows": 3}),
            "passport_number": forms.TextInput(),
            "passport_issued_by": forms.TextInput(),
            "passport_issued_on": forms.TextInput(attrs={"placeholder": "01.02.2020"}),
            "passport_code": forms.TextInput(attrs={"placeholder": "660-001"}),
            "registration_address": forms.TextInput(),
            "email": forms.TextInput(attrs={"inputmode": "email", "autocomplete": "off"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "placeholder": "+7 912 345-67-89"}),
        }

    def __init__(self, *args, user, kind=None, duplicate=False, **kwargs):
        super().__init__(*args, **kwargs)
        kind = kind or self.instance.kind or ClientKind.PERSON
        keep = set(COMPANY_FIELDS if kind == ClientKind.COMPANY else PERSON_FIELDS)
        if kind == ClientKind.PERSON and has_capability(user, CLIENTS_PERSONAL):
            keep |= set(PASSPORT_FIELDS)
        if self.instance.pk is None:
            keep.add("kind")
            self.fields["kind"].widget = forms.HiddenInput()
            self.initial.setdefault("kind", kind)
        if duplicate:
            keep.add("allow_duplicate")
            if self.instance.pk is not None:
                self.fields["allow_duplicate"].label = gettext_lazy(
                    "Save anyway: it is a different client"
                )
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if kind == ClientKind.COMPANY:
            self.fields["company_name"].required = True
        elif "last_name" in self.fields:
            self.fields["first_name"].required = True
        # The services normalise and check these; a plain text box accepts any spelling.
        if "email" in self.fields:
            self.fields["email"] = forms.CharField(
                label=self.fields["email"].label,
                required=False,
                max_length=254,
                widget=self.Meta.widgets["email"],
            )

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("allow_duplicate", None)
        return data


class ContactForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=ContactKind.choices)
    value = forms.CharField(label=gettext_lazy("phone or e-mail"), max_length=254)
    note = forms.CharField(label=gettext_lazy("note"), max_length=100, required=False)


class ContactPersonForm(forms.ModelForm):
    class Meta:
        model = ContactPerson
        fields = ["name", "position", "phone", "email"]


class ConsentForm(forms.ModelForm):
    given_at = DateTimeField(label=gettext_lazy("given"))

    class Meta:
        model = Consent
        fields = ["given_at", "text_version", "channel", "marketing"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("given_at", timezone.localtime().replace(second=0, microsecond=0))
        self.initial.setdefault("text_version", settings.KVARTAL_CONSENT_VERSION)


class ReassignForm(forms.Form):
    manager = forms.ModelChoiceField(
        label=gettext_lazy("new manager"), queryset=User.objects.none()
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = staff_for(user, everyone=True)


class MergeForm(forms.Form):
    duplicate = ClientField(
        label=gettext_lazy("duplicate to merge into this client"),
        help_text=gettext_lazy(
            "Its deals, holds, leads, visits, interactions, tasks and contacts move here; "
            "the duplicate is left empty, pointing to this client."
        ),
    )
    confirm = forms.BooleanField(label=gettext_lazy("I have checked it is the same client"))

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["duplicate"].queryset = queryset


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy("The client asked to erase their data. Erase it: this cannot be undone.")
    )


class InteractionForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("kind"), choices=InteractionKind.choices)
    at = DateTimeField(label=gettext_lazy("time"))
    text = forms.CharField(label=gettext_lazy("text"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("at", timezone.localtime().replace(second=0, microsecond=0))


class TaskForm(forms.Form):
    """A follow-up. A due day typed without a time makes an all-day task, due by the end of
    that day (``all_day`` in ``cleaned_data``), not at its midnight."""

    title = forms.CharField(label=gettext_lazy("what to do"), max_length=200)
    due_at = DateTimeField(
        label=gettext_lazy("due"),
        help_text=gettext_lazy("A day without a time: due by the end of that day."),
    )
    assignee = forms.ModelChoiceField(label=gettext_lazy("assignee"), queryset=User.objects.none())
    note = forms.CharField(
        label=gettext_lazy("note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_for(user) | User.objects.filter(pk=user.pk)
        self.initial.setdefault("assignee", user.pk)
        tomorrow = timezone.localtime() + timedelta(days=1)
        self.initial.setdefault(
            "due_at", tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("due_at") is not None:
            cleaned["all_day"] = DateTimeField.typed_as_day(self["due_at"].data)
        return cleaned


ROOM_CHOICES = [(0, gettext_lazy("Studio")), (1, "1"), (2, "2"), (3, "3"), (4, "4"), (5, "5+")]


class NeedForm(forms.ModelForm):
    rooms = forms.TypedMultipleChoiceField(
        label=gettext_lazy("rooms"),
        choices=ROOM_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Need
        fields = [
            "title",
            "status",
            "rooms",
            "budget_min",
            "budget_max",
            "area_min",
            "area_max",
            "projects",
            "payment_method",
            "purpose",
            "deadline",
            "comment",
        ]
        widgets = {
            "projects": forms.CheckboxSelectMultiple,
            "deadline": DateInput(),
            "comment": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["projects"].queryset = Project.objects.order_by("name")
        self.fields["payment_method"].choices = [("", "—"), *NeedPayment.choices]
        self.fields["purpose"].choices = [("", "—"), *Purpose.choices]

    def clean_rooms(self):
        rooms = sorted(set(self.cleaned_data["rooms"]))
        if 5 in rooms:  # "5+" means five rooms or more
            rooms += [6, 7, 8]
        return rooms


# --- leads ------------------------------------------------------------------------------


class LeadForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("name"), max_length=200, required=False)
    phone = forms.CharField(label=gettext_lazy("phone"), max_length=32, required=False)
    email = forms.CharField(label=gettext_lazy("e-mail"), max_length=254, required=False)
    message = forms.CharField(
        label=gettext_lazy("message"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    channel = forms.ModelChoiceField(label=gettext_lazy("channel"), queryset=Channel.objects.none())
    unit = forms.ModelChoiceField(
        label=gettext_lazy("unit of interest"),
        queryset=Unit.objects.all(),
        required=False,
        widget=forms.HiddenInput,
    )
    manager = forms.ModelChoiceField(
        label=gettext_lazy("manager"),
        queryset=User.objects.none(),
        required=False,
        empty_label=gettext_lazy("next on duty (round robin)"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(is_active=True)
        self.fields["manager"].queryset = staff_for(user)


class LeadStatusForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("new status"), choices=())
    reason = forms.CharField(
        label=gettext_lazy("reason"),
        max_length=300,
        required=False,
        help_text=gettext_lazy("Required when the lead is lost."),
    )

    def __init__(self, *args, lead, **kwargs):
        from .models import LEAD_TRANSITIONS

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [
            (s, LeadStatus(s).label)
            for s in LeadStatus.values
            if s in LEAD_TRANSITIONS[lead.status]
        ]


class LeadAssignForm(ReassignForm):
    pass


class LeadImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "UTF-8, first line names the columns: name, phone, email, message, channel, "
            "utm_source … Up to 5 000 rows; nothing is saved if a row is wrong."
        ),
    )
    channel = forms.ModelChoiceField(
        label=gettext_lazy("channel (where a row names none)"), queryset=Channel.objects.none()
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = Channel.objects.filter(is_active=True)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 2 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 2 MB; split it."))
        raw = upload.read()
        for encoding in ("utf-8-sig", "cp1251"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
        raise forms.ValidationError(_("Cannot read the file: save it as CSV in UTF-8."))


# --- reception desk ---------------------------------------------------------------------


class VisitForm(forms.Form):
    """A visit: an existing client (chosen) or a new one (name and phone)."""

    client = ClientField(
        label=gettext_lazy("existing client"),
        required=False,
        empty_label=gettext_lazy("— a new client —"),
    )
    last_name = forms.CharField(label=gettext_lazy("last name"), max_length=100, required=False)
    first_name = forms.CharField(label=gettext_lazy("first name"), max_length=100, required=False)
    phone = forms.CharField(label=gettext_lazy("phone"), max_length=32, required=False)
    at = DateTimeField(label=gettext_lazy("time"))
    received_by = forms.ModelChoiceField(
        label=gettext_lazy("received by"), queryset=User.objects.none()
    )
    asked_about = forms.CharField(
        label=gettext_lazy("asked about"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    building = forms.ModelChoiceField(
        label=gettext_lazy("building of the units shown"),
        queryset=Building.objects.select_related("project"),
        required=False,
    )
    units = forms.CharField(
        label=gettext_lazy("units shown"),
        required=False,
        help_text=gettext_lazy("Numbers or codes, separated by commas: 12, 45, 1.5.3"),
    )

    def __init__(self, *args, user, clients, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients
        self.fields["received_by"].queryset = staff_for(user) | User.objects.filter(pk=user.pk)
        self.initial.setdefault("received_by", user.pk)
        self.initial.setdefault("at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_units(self):
        tokens = [t for t in re.split(r"[,;\s]+", self.cleaned_data["units"]) if t]
        self.unit_tokens = tokens
        return tokens

    def clean(self):
        data = super().clean()
        if not data.get("client") and not (data.get("first_name") or data.get("last_name")):
            self.add_error("first_name", _("Choose a client or give the new client's name."))
        tokens = data.get("units") or []
        units = []
        for token in tokens:
            found = Unit.objects.filter(**({"code": token} if "." in token else {"number": token}))
            if data.get("building"):
                found = found.filter(building=data["building"])
            found = list(found[:2])
            if not found:
                self.add_error("units", _("No unit “%(u)s”.") % {"u": token})
            elif len(found) > 1:
                self.add_error(
                    "units",
                    _("“%(u)s” is in several buildings: choose the building.") % {"u": token},
                )
            else:
                units.append(found[0])
        data["unit_objects"] = units
        return data


class ClientFilterForm(forms.Form):
    """Search, filters and sort of the client list (the sales figures among them)."""

    q = forms.CharField(label=gettext_lazy("search"), required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("kind"), required=False, choices=[("", "—"), *ClientKind.choices]
    )
    manager = forms.ModelChoiceField(
        label=gettext_lazy("manager"), queryset=User.objects.none(), required=False
    )
    tag = forms.ModelChoiceField(
        label=gettext_lazy("tag"), queryset=Tag.objects.all(), required=False
    )
    bought_min = forms.IntegerField(
        label=gettext_lazy("bought at least"), min_value=0, required=False
    )
    bought_max = forms.IntegerField(
        label=gettext_lazy("bought at most"), min_value=0, required=False
    )
    avg_min = forms.DecimalField(
        label=gettext_lazy("average check from, ₽"), min_value=Decimal(0), required=False
    )
    avg_max = forms.DecimalField(
        label=gettext_lazy("average check up to, ₽"), min_value=Decimal(0), required=False
    )
    in_work = forms.BooleanField(label=gettext_lazy("has deals in work"), required=False)
    refused = forms.BooleanField(label=gettext_lazy("has refused"), required=False)
    sort = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = staff_for(user)
