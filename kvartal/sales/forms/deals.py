"""Forms of the deal pages. They validate input; the deal services decide and write."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.models import Role, User
from kvartal.accounts.permissions import SALES_APPROVE, has_capability
from kvartal.accounts.scoping import row_scope
from kvartal.clients.models import Agency
from kvartal.clients.picker import ClientField
from kvartal.core.forms import TableRows
from kvartal.core.money import money_text
from kvartal.inventory.forms import DateInput
from kvartal.inventory.models import Project, Unit

from ..models import ContractType, PaymentMethod, Promotion, Stage, StageRequirement, StageScheme
from ..promotions_rules import promotion_applies
from ..services.deals import BuyerShare


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


def sales_people(user):
    """The managers ``user`` may give a deal to: themselves, or their team (a sales head),
    or every sales person (an administrator)."""
    people = User.objects.filter(
        is_active=True, role__in=[Role.SALES_MANAGER, Role.SALES_HEAD]
    ).order_by("last_name", "first_name")
    return row_scope(user).people(people)


def unit_label(u: Unit) -> str:
    """A unit in a select: building, number, area and price in the page's number format."""
    area = number_format(u.total_area, None, use_l10n=True)
    return f"{u.building.name} · {u} · {area} {gettext('m²')} · {money_text(u.price, 0)}"


def extra_units(unit: Unit, *, exclude=()):
    """Units that may join a deal on ``unit``: on sale in the same project (parking spaces
    and storage rooms first). The service checks each again under its lock."""
    from django.db.models import Case, IntegerField, Value, When

    from kvartal.inventory.models import UnitKind

    return (
        Unit.objects.on_sale()
        .filter(building__project_id=unit.building.project_id)
        .exclude(pk__in=[unit.pk, *exclude])
        .select_related("building")
        .annotate(
            apartment=Case(
                When(kind=UnitKind.APARTMENT, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .order_by("apartment", "building__name", "number")
    )


class DealTermsForm(forms.Form):
    """The terms of a new deal: who sells, price adjustments, payment and contract."""

    manager = UserChoiceField(label=_("Manager"), queryset=User.objects.none())
    agency = forms.ModelChoiceField(
        label=_("Agency"), queryset=Agency.objects.filter(is_active=True), required=False
    )
    promotion = forms.ModelChoiceField(
        label=_("Promotion"), queryset=Promotion.objects.none(), required=False
    )
    manual_discount = forms.DecimalField(
        label=_("Manual discount, ₽"),
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=2,
        required=False,
        initial=Decimal(0),
    )
    payment_method = forms.ChoiceField(label=_("Payment method"), choices=PaymentMethod.choices)
    bank = forms.CharField(label=_("Bank"), max_length=100, required=False)
    programme = forms.CharField(label=_("Mortgage programme"), max_length=100, required=False)
    contract_type = forms.ChoiceField(label=_("Contract"), choices=ContractType.choices)
    scheme = forms.ModelChoiceField(
        label=_("Deal flow"), queryset=StageScheme.objects.all(), empty_label=None
    )
    units = forms.ModelMultipleChoiceField(
        label=_("More units in this deal"),
        queryset=Unit.objects.none(),
        required=False,
        help_text=_(
            "Parking spaces, storage rooms or other units of the project on sale, sold with "
            "this one in one deal (one buyer set, one schedule)."
        ),
    )

    def __init__(self, *args, user, unit: Unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["units"].queryset = extra_units(unit)
        self.fields["units"].label_from_instance = unit_label
        self.fields["manager"].queryset = sales_people(user)
        self.fields["manager"].initial = user.pk
        if not has_capability(user, SALES_APPROVE) and user.role == Role.SALES_MANAGER:
            self.fields["manager"].widget = forms.HiddenInput()
        if not has_capability(user, SALES_APPROVE):
            self.fields["manual_discount"].help_text = _(
                "Above the approval threshold a sales head applies the discount on the deal."
            )
        today = timezone.localdate()
        # Promotions with a condition apply by themselves: they are not chosen here.
        running = Promotion.objects.filter(
            is_active=True, starts_on__lte=today, ends_on__gte=today, condition=""
        ).prefetch_related("projects", "buildings", "units")
        self.fields["promotion"].queryset = Promotion.objects.filter(
            pk__in=[p.pk for p in running if promotion_applies(p, unit)]
        )
        self.fields["scheme"].initial = StageScheme.default()
        self.fields["scheme"].label_from_instance = lambda s: gettext(s.name)
        self.fields["payment_method"].initial = PaymentMethod.FULL
        self.fields["contract_type"].initial = ContractType.DDU

    def clean_manual_discount(self):
        return self.cleaned_data.get("manual_discount") or Decimal(0)


SHARE_ATTRS = {"class": "share-input", "min": "1"}


class BuyerForm(forms.Form):
    """One buyer: a client already known, or a new person typed in (name and phone)."""

    client = ClientField(label=_("Client"), required=False)
    last_name = forms.CharField(
        label=_("or a new client: last name"), max_length=100, required=False
    )
    first_name = forms.CharField(label=_("first name"), max_length=100, required=False)
    phone = forms.CharField(label=_("phone"), max_length=32, required=False)
    share_numerator = forms.IntegerField(
        label=_("share"), min_value=1, initial=1, widget=forms.NumberInput(attrs=SHARE_ATTRS)
    )
    share_denominator = forms.IntegerField(
        label=_("of"), min_value=1, initial=1, widget=forms.NumberInput(attrs=SHARE_ATTRS)
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["client"].pick_for(user)

    def has_changed(self) -> bool:
        """A row counts when it names a buyer (chosen or typed), whatever it started with:
        a row prefilled from the hold or the current buyers is still a buyer."""
        if not self.is_bound:
            return super().has_changed()
        named = self.data.get(self.add_prefix("client")) or self.data.get(
            self.add_prefix("last_name"), ""
        )
        return bool(str(named).strip())

    def clean(self):
        data = super().clean()
        client, last_name = data.get("client"), (data.get("last_name") or "").strip()
        if client is None and not last_name:
            raise forms.ValidationError(_("Choose a client or type a new one's last name."))
        if client is not None and last_name:
            raise forms.ValidationError(_("Either choose a client or type a new one, not both."))
        return data


class BaseBuyerFormSet(TableRows, forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not any(f.has_changed() and not self._should_delete_form(f) for f in self.forms):
            raise forms.ValidationError(_("A deal needs at least one buyer."))

    def buyers(self, *, create) -> list[BuyerShare]:
        """The buyers as the service takes them; ``create(last_name=…, first_name=…,
        phone=…)`` makes a new client for a typed-in name."""
        rows = []
        for form in self.forms:
            if not form.has_changed():
                continue
            data = form.cleaned_data
            client = data["client"] or create(
                last_name=data["last_name"].strip(),
                first_name=(data.get("first_name") or "").strip(),
                phone=(data.get("phone") or "").strip(),
            )
            rows.append(BuyerShare(client, data["share_numerator"], data["share_denominator"]))
        return rows


BuyerFormSet = forms.formset_factory(BuyerForm, formset=BaseBuyerFormSet, extra=3, max_num=10)


def buyer_formset(data=None, *, user, initial=None):
    formset = BuyerFormSet(data, prefix="buyers", initial=initial, form_kwargs={"user": user})
    return formset


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class StageMoveForm(forms.Form):
    """Moving a deal to one of its next stages, with what that stage asks for."""

    stage = forms.ModelChoiceField(
        label=_("Next stage"), queryset=Stage.objects.none(), empty_label=None
    )
    registration_number = forms.CharField(
        label=_("Registration number"), max_length=64, required=False
    )
    registration_date = forms.DateField(
        label=_("Registration date"), required=False, widget=DateInput()
    )
    act_date = forms.DateField(label=_("Handover act date"), required=False, widget=DateInput())
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)

    FIELDS_FOR = {
        StageRequirement.REGISTRATION: ("registration_number", "registration_date"),
        StageRequirement.ACT: ("act_date",),
        StageRequirement.REASON: ("reason",),
    }

    def __init__(self, *args, stages, stage: Stage | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(pk__in=[s.pk for s in stages])
        self.fields["stage"].label_from_instance = lambda s: s.label
        if stage is not None:
            # A form for one stage: only its own fields, the stage fixed.
            self.fields["stage"].initial = stage.pk
            self.fields["stage"].widget = forms.HiddenInput()
            keep = {"stage", *self.FIELDS_FOR.get(stage.requires, ())}
            for name in list(self.fields):
                if name not in keep:
                    del self.fields[name]
            for name in keep - {"stage"}:
                self.fields[name].required = True


class SwapForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("New unit"), queryset=Unit.objects.none())
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, deal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = (
            Unit.objects.on_sale()
            .filter(building__project_id=deal.unit.building.project_id)
            .exclude(pk=deal.unit_id)
            .select_related("building")
            .order_by("building__name", "number")
        )
        self.fields["unit"].label_from_instance = unit_label


class AddUnitForm(forms.Form):
    """Another unit into an open deal (before signing)."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    reason = forms.CharField(label=_("Comment"), max_length=300, required=False)

    def __init__(self, *args, deal, **kwargs):
        super().__init__(*args, **kwargs)
        taken = [row.unit_id for row in deal.current_units()]
        self.fields["unit"].queryset = extra_units(deal.unit, exclude=taken)
        self.fields["unit"].label_from_instance = unit_label


class RemoveUnitForm(forms.Form):
    """A unit out of an open deal (before signing), with a reason."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, deal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(
            pk__in=[row.unit_id for row in deal.current_units()]
        ).select_related("building")
        self.fields["unit"].label_from_instance = unit_label


class DiscountForm(forms.Form):
    """A sales head sets the manual discount of a deal before signing."""

    manual_discount = forms.DecimalField(
        label=_("Manual discount, ₽"), min_value=Decimal(0), max_digits=14, decimal_places=2
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)


class BtiForm(forms.Form):
    bti_area = forms.DecimalField(
        label=_("BTI-measured area, m²"),
        min_value=Decimal("0.01"),
        max_digits=8,
        decimal_places=2,
    )


class DealFilterForm(forms.Form):
    """The deal list's filters."""

    SCOPES = [("", _("All I can see")), ("mine", _("My deals"))]
    STATES = [("active", _("Open")), ("closed", _("Closed")), ("all", _("All"))]

    scope = forms.ChoiceField(label=_("Deals"), choices=SCOPES, required=False)
    state = forms.ChoiceField(label=_("State"), choices=STATES, required=False)
    # "All", as the other lists' filters say (not Django's "---------").
    stage = forms.ModelChoiceField(
        label=_("Stage"),
        queryset=Stage.objects.select_related("scheme"),
        required=False,
        empty_label=_("All"),
    )
    project = forms.ModelChoiceField(
        label=_("Project"), queryset=Project.objects.all(), required=False, empty_label=_("All")
    )
    manager = UserChoiceField(
        label=_("Manager"), queryset=User.objects.none(), required=False, empty_label=_("All")
    )
    q = forms.CharField(
        label=_("Search"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Number or last name")}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = sales_people(user)
        self.fields["stage"].label_from_instance = lambda s: f"{gettext(s.scheme.name)}: {s.label}"
        if row_scope(user).own_only:
            del self.fields["scope"], self.fields["manager"]
