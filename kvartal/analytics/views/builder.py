"""The report builder's pages: compose a report (preview, save as a template), open a saved
template with the current data, export it, share it by link, change and delete it."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kvartal.accounts.models import Role
from kvartal.accounts.permissions import (
    ANALYTICS_BUILD,
    ANALYTICS_VIEW,
    CAPABILITIES,
    may_change_report_template,
    may_open_report_template,
    require,
)
from kvartal.core.widgets import DateInput

from ..base import ReportForm
from ..builder import (
    MAX_DIMENSIONS,
    MAX_MEASURES,
    PERIODS,
    SOURCES,
    TemplateBroken,
    build,
    check,
    check_template,
    dimensions_for,
    measures_for,
    run_template,
    source_choices,
    template_save,
)
from ..models import ReportTemplate
from ..sharing import MAX_DAYS, link_create
from .common import crumbs
from .reports import export_response

DEFAULT_SOURCE = "sales"
DIMENSION_FIELDS = [f"dimension_{i}" for i in range(1, MAX_DIMENSIONS + 1)]
MEASURE_FIELDS = [f"measure_{i}" for i in range(1, MAX_MEASURES + 1)]
FILTER_FIELDS = ("period", "date_from", "date_to", "project", "building", "unit_type", "manager")
# Which part of the form a TemplateBroken points at.
BROKEN_FIELD = {"source": "source", "dimensions": "dimension_1", "measures": "measure_1"}


def sharing_roles() -> list[tuple[str, str]]:
    """The roles a template can be shared with: those that may open saved reports."""
    return [(r, label) for r, label in Role.choices if ANALYTICS_VIEW in CAPABILITIES.get(r, ())]


class BuilderForm(forms.Form):
    """The builder: the data, rows and columns in their order, the filters, the sharing.

    The choices of rows and columns depend on the data (``source``); the filters a source
    does not take are left out. ``clean`` checks the whole report through the engine."""

    source = forms.ChoiceField(label=gettext_lazy("Data"), choices=source_choices)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    period = forms.ChoiceField(
        label=gettext_lazy("Period"),
        choices=[("", gettext_lazy("The dates below")), *PERIODS],
        required=False,
        help_text=gettext_lazy("A moving period shows the current month, year … whenever opened."),
    )
    date_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=DateInput(),
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("No dates: the last twelve months up to today."),
    )
    # The filters are the reports' own fields (same choices, labels and checks).
    project = ReportForm.base_fields["project"]
    building = ReportForm.base_fields["building"]
    unit_type = ReportForm.base_fields["unit_type"]
    manager = ReportForm.base_fields["manager"]
    shared_roles = forms.MultipleChoiceField(
        label=gettext_lazy("Share with roles"),
        choices=sharing_roles,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, source: str = DEFAULT_SOURCE, **kwargs):
        super().__init__(*args, **kwargs)
        self.data_source = SOURCES.get(source) or SOURCES[DEFAULT_SOURCE]
        empty = [("", "—")]
        for i, name in enumerate(DIMENSION_FIELDS, start=1):
            self.fields[name] = forms.ChoiceField(
                label=_("Row %(n)s") % {"n": i},
                choices=empty + dimensions_for(self.data_source.key),
                required=False,
            )
        for i, name in enumerate(MEASURE_FIELDS, start=1):
            self.fields[name] = forms.ChoiceField(
                label=_("Column %(n)s") % {"n": i},
                choices=empty + measures_for(self.data_source.key),
                required=False,
            )
        fields = set(self.data_source.fields)
        if "period" not in fields:
            for name in ("period", "date_from", "date_to"):
                del self.fields[name]
        for name in ("project", "building", "unit_type", "manager"):
            if name not in fields:
                del self.fields[name]
        if "building" in self.fields:
            self.fields["building"].label_from_instance = lambda b: f"{b.project.name} · {b.name}"

    def dimension_fields(self):
        return [self[name] for name in DIMENSION_FIELDS]

    def measure_fields(self):
        return [self[name] for name in MEASURE_FIELDS]

    def filter_fields(self):
        return [self[n] for n in FILTER_FIELDS if n in self.fields and n != "unit_type"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        filters = {}
        if data.get("period"):
            filters["period"] = data["period"]
        else:
            for name in ("date_from", "date_to"):
                if data.get(name):
                    filters[name] = data[name].isoformat()
        for name in ("project", "building", "manager"):
            if data.get(name) is not None:
                filters[name] = data[name].pk
        if data.get("unit_type"):
            filters["unit_type"] = list(data["unit_type"])
        spec = {
            "source": data["source"],
            "dimensions": [data[n] for n in DIMENSION_FIELDS if data.get(n)],
            "measures": [data[n] for n in MEASURE_FIELDS if data.get(n)],
            "filters": filters,
        }
        try:
            check(**spec)
        except TemplateBroken as broken:
            self.add_error(BROKEN_FIELD.get(broken.field), broken.message)
        data["spec"] = spec
        return data


def template_initial(template: ReportTemplate) -> dict:
    """The form's starting values for a saved template (keys no longer offered stay empty)."""
    initial = {
        "source": template.source,
        "name": template.name,
        "shared_roles": template.roles(),
    }
    filters = template.filters if isinstance(template.filters, dict) else {}
    initial.update({k: v for k, v in filters.items() if k in FILTER_FIELDS})
    for names, keys in (
        (DIMENSION_FIELDS, template.dimensions),
        (MEASURE_FIELDS, template.measures),
    ):
        for name, key in zip(names, keys if isinstance(keys, list) else [], strict=False):
            initial[name] = key
    return initial


def _initial_from_query(query, initial: dict) -> dict:
    """The data chosen in the source switch (a plain GET form): keeps the name and filters."""
    source = query.get("source")
    if source in SOURCES:
        if source != initial.get("source"):
            for name in DIMENSION_FIELDS + MEASURE_FIELDS:
                initial.pop(name, None)
            initial["measure_1"] = "count"
        initial["source"] = source
    return initial


def _builder_page(request, template: ReportTemplate | None = None):
    broken = None
    if request.method == "POST":
        form = BuilderForm(request.POST, source=request.POST.get("source", DEFAULT_SOURCE))
    else:
        initial = (
            template_initial(template)
            if template
            else {"source": DEFAULT_SOURCE, "measure_1": "count", "measure_2": "area"}
        )
        initial = _initial_from_query(request.GET, initial)
        form = BuilderForm(initial=initial, source=initial["source"])
        if template is not None:
            try:
                check_template(template)
            except TemplateBroken as error:
                broken = error.message
    result = None
    if request.method == "POST" and form.is_valid():
        spec, name = form.cleaned_data["spec"], form.cleaned_data["name"].strip()
        if request.POST.get("action") == "save":
            if not name:
                form.add_error("name", _("Give the report a name to save it."))
            else:
                try:
                    saved = template_save(
                        owner=template.owner if template else request.user,
                        template=template,
                        name=name,
                        shared_roles=form.cleaned_data["shared_roles"],
                        **spec,
                    )
                except TemplateBroken as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(request, _("The report is saved."))
                    return redirect("analytics:template", pk=saved.pk)
        if not form.errors:
            try:
                result = build(**spec, title=name, viewer=request.user)
            except TemplateBroken as error:
                form.add_error(None, error.message)
    title = _("Change the report") if template else _("Build a report")
    more = [(reverse("analytics:template", args=[template.pk]), template.name)] if template else []
    context = {
        "form": form,
        "template": template,
        "broken": broken,
        "result": result,
        "sources": source_choices(),
        "source": form.data_source,
        "title": title,
        "nav": "reports",
        "crumbs": crumbs(*more, (None, title)),
    }
    return render(request, "analytics/builder.html", context, status=400 if form.errors else 200)


@require(ANALYTICS_BUILD)
def builder(request):
    return _builder_page(request)


may_open = may_open_report_template
may_change = may_change_report_template


def _visible(request, pk) -> ReportTemplate:
    """The template if the user may open it, else 404 (its existence is not told)."""
    return get_object_or_404(
        ReportTemplate.objects.for_user(request.user).select_related("owner"), pk=pk
    )


def _changeable(request, pk) -> ReportTemplate:
    template = _visible(request, pk)
    if not may_change(request.user, template):
        raise PermissionDenied
    return template


def _detail(request, template, *, result=None, broken=None):
    context = {
        "template": template,
        "result": result,
        "broken": broken,
        "may_change": may_change(request.user, template),
        "max_days": MAX_DAYS,
        "nav": "reports",
        "crumbs": crumbs((None, template.name)),
    }
    return render(request, "analytics/template_detail.html", context, status=409 if broken else 200)


def _run(template, viewer):
    try:
        return run_template(template, viewer), None
    except TemplateBroken as broken:
        return None, broken.message


@require(ANALYTICS_VIEW)
def template_detail(request, pk):
    template = _visible(request, pk)
    result, broken = _run(template, request.user)
    return _detail(request, template, result=result, broken=broken)


@require(ANALYTICS_BUILD)
def template_edit(request, pk):
    return _builder_page(request, _changeable(request, pk))


@require(ANALYTICS_BUILD)
def template_delete(request, pk):
    template = _changeable(request, pk)
    if request.method == "POST":
        template.delete()
        messages.success(request, _("The report “%(name)s” is deleted.") % {"name": template.name})
        return redirect("analytics:index")
    context = {
        "template": template,
        "links": template.links.count(),
        "nav": "reports",
        "crumbs": crumbs(
            (reverse("analytics:template", args=[template.pk]), template.name),
            (None, _("Delete")),
        ),
    }
    return render(request, "analytics/template_confirm_delete.html", context)


@require(ANALYTICS_VIEW)
def template_export(request, pk, fmt):
    if fmt not in ("xlsx", "pdf"):
        raise Http404
    template = _visible(request, pk)
    result, broken = _run(template, request.user)
    if broken:
        return _detail(request, template, broken=broken)
    return export_response(result, f"report-{template.pk}", fmt, request)


def _days(value) -> int | None:
    try:
        days = int(value)
    except (TypeError, ValueError):
        return None
    return days if 1 <= days <= MAX_DAYS else None


@require(ANALYTICS_VIEW)
def template_share(request, pk):
    """GET: the page to choose how long the link lives (where the pop-up box is not used);
    POST: the link, shown in the list of shared links."""
    template = _visible(request, pk)
    back = reverse("analytics:template", args=[template.pk])
    if request.method != "POST":
        context = {
            "template": template,
            "max_days": MAX_DAYS,
            "nav": "reports",
            "crumbs": crumbs((back, template.name), (None, _("Share a link"))),
        }
        return render(request, "analytics/template_share.html", context)
    days = _days(request.POST.get("days"))
    if days is None:
        messages.error(request, _("A link lives from 1 to %(n)s days.") % {"n": MAX_DAYS})
        return redirect(back)
    try:
        spec = check_template(template)
    except TemplateBroken as broken:
        messages.error(request, broken.message)
        return redirect(back)
    described = spec.params.describe(spec.source.fields)
    title = f"{template.name} · {described}" if described else template.name
    link = link_create(
        report="builder", query="", title=title, days=days, by=request.user, template=template
    )
    messages.success(request, _("The link is ready: copy it below."))
    return redirect(reverse("analytics:links") + f"#link-{link.pk}")
