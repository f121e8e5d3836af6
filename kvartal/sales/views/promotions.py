"""Promotions: the list (everyone in sales reads it) and the form (``sales.promote``: the
sales head and the administrator)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import SALES_PROMOTE, SALES_PROMOTIONS, require
from kvartal.core.pages import form_page, refuse

from ..forms.promotions import PromotionForm
from ..models import Promotion
from ..services.promotions import promotion_save


def _state(promotion: Promotion, today) -> tuple[str, str]:
    if not promotion.is_active:
        return "off", _("Switched off")
    if promotion.ends_on < today:
        return "ended", _("Ended")
    if promotion.starts_on > today:
        return "scheduled", _("Scheduled")
    return "running", _("Running")


@require(SALES_PROMOTIONS)
def promotion_list(request):
    today = timezone.localdate()
    promotions = Promotion.objects.prefetch_related("projects", "buildings", "units").order_by(
        "-is_active", "-ends_on", "name"
    )
    show = request.GET.get("show", "current")
    if show != "all":
        promotions = promotions.filter(ends_on__gte=today)
    rows = [(p, *_state(p, today)) for p in promotions]
    context = {
        "rows": rows,
        "show": show,
        "nav": "promotions",
        "crumbs": [(None, _("Promotions"))],
    }
    return render(request, "sales/promotion_list.html", context)


def _form_page(request, form, *, title):
    list_url = reverse("sales:promotion-list")
    crumbs = [(list_url, _("Promotions")), (None, title)]
    return form_page(request, form, title=title, crumbs=crumbs, nav="promotions")


def _save(request, form) -> bool:
    if not form.is_valid():
        return False
    data = form.cleaned_data
    promotion = form.instance
    promotion.rooms = data["rooms"]
    promotion.unit_kinds = list(data.get("kinds") or [])
    try:
        promotion_save(
            promotion=promotion,
            by=request.user,
            projects=data["projects"],
            buildings=data["buildings"],
            units=data["units"],
        )
    except ValidationError as error:
        refuse(form, error, aliases={"rooms": "room_counts"})
        return False
    return True


@require(SALES_PROMOTE)
def promotion_create(request):
    form = PromotionForm(request.POST or None)
    if request.method == "POST" and _save(request, form):
        messages.success(request, _("Promotion created."))
        return redirect("sales:promotion-list")
    return _form_page(request, form, title=_("New promotion"))


@require(SALES_PROMOTE)
def promotion_update(request, pk: int):
    promotion = get_object_or_404(Promotion, pk=pk)
    name = promotion.name
    form = PromotionForm(request.POST or None, instance=promotion)
    if request.method == "POST" and _save(request, form):
        messages.success(request, _("Promotion saved."))
        return redirect("sales:promotion-list")
    return _form_page(request, form, title=_("Promotion “%(name)s”") % {"name": name})
