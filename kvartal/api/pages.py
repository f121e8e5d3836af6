"""The administrator's integration pages: API tokens and webhooks with their delivery log."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kvartal import audit
from kvartal.accounts.permissions import INTEGRATIONS, SALES_PAY, require

from .forms import TokenForm, WebhookForm
from .models import SCOPES, ApiToken, Delivery, StatementImport, Webhook
from .webhooks import replay


def _crumbs(title=None):
    crumbs = [(reverse("integrations:index"), _("Integrations"))]
    return crumbs + [(None, title)] if title else [(None, _("Integrations"))]


@require(INTEGRATIONS)
def index(request):
    context = {
        "tokens": ApiToken.objects.select_related("user").order_by("-is_active", "name"),
        "webhooks": Webhook.objects.order_by("-is_active", "name"),
        "scopes": {code: label for code, (label, _c) in SCOPES.items()},
        "nav": "integrations",
        "crumbs": _crumbs(),
    }
    return render(request, "integrations/index.html", context)


def _form_page(request, form, title, status=200):
    context = {"form": form, "title": title, "nav": "integrations", "crumbs": _crumbs(title)}
    return render(request, "integrations/form.html", context, status=status)


@require(INTEGRATIONS)
def token_create(request):
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return _form_page(request, form, _("New API token"), status=400)
        key = ApiToken.new_key()
        token = form.save(commit=False)
        token.set_key(key)
        token.created_by = request.user
        token.save()
        audit.record("api_token_create", obj=token, before={}, by=request.user)
        context = {"token": token, "key": key, "nav": "integrations", "crumbs": _crumbs(token.name)}
        return render(request, "integrations/token_created.html", context)
    return _form_page(request, form, _("New API token"))


@require(INTEGRATIONS)
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk)
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(is_active=False)
        audit.record("api_token_revoke", obj=token, by=request.user)
    messages.success(request, _("The token is revoked: it no longer works."))
    return redirect("integrations:index")


@require(INTEGRATIONS)
def webhook_create(request):
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        hook = form.save(commit=False)
        hook.secret = Webhook.new_secret()
        hook.save()
        audit.record("webhook_create", obj=hook, before={}, by=request.user)
        messages.success(request, _("Webhook saved."))
        return redirect("integrations:webhook-detail", pk=hook.pk)
    status = 400 if form.errors else 200
    return _form_page(request, form, _("New webhook"), status=status)


@require(INTEGRATIONS)
def webhook_update(request, pk):
    hook = get_object_or_404(Webhook, pk=pk)
    form = WebhookForm(request.POST or None, instance=hook)
    if request.method == "POST" and form.is_valid():
        hook = form.save(commit=False)
        if hook.is_active:
            hook.failures, hook.disabled_reason = 0, ""
        hook.save()
        audit.record("webhook_update", obj=hook, by=request.user, data=form.cleaned_data)
        messages.success(request, _("Webhook saved."))
        return redirect("integrations:webhook-detail", pk=hook.pk)
    return _form_page(request, form, hook.name, status=400 if form.errors else 200)


@require(INTEGRATIONS)
def webhook_detail(request, pk):
    hook = get_object_or_404(Webhook, pk=pk)
    context = {
        "hook": hook,
        "deliveries": hook.deliveries.all()[:100],
        "nav": "integrations",
        "crumbs": _crumbs(hook.name),
    }
    return render(request, "integrations/webhook_detail.html", context)


@require(INTEGRATIONS)
@require_POST
def delivery_replay(request, pk):
    delivery = get_object_or_404(Delivery, pk=pk)
    with transaction.atomic():
        replay(delivery)
    messages.success(request, _("The event is sent again."))
    return redirect("integrations:webhook-detail", pk=delivery.webhook_id)


# --- bank statements (the cashier) --------------------------------------------------------


@require(SALES_PAY)
def statement_upload(request):
    from .statements import MAX_BYTES, StatementError, statement_load

    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            error = _("Choose a file.")
        elif upload.size > MAX_BYTES:  # refused before it is read into memory
            error = _("The file is larger than 10 MB.")
        else:
            try:
                statement = statement_load(
                    data=upload.read(), file_name=upload.name, by=request.user
                )
            except StatementError as e:
                error = str(e)
            else:
                return redirect("integrations:statement", pk=statement.pk)
    context = {
        "error": error,
        "recent": StatementImport.objects.filter(uploaded_by=request.user)[:10],
        "nav": "cashier",
        "crumbs": [(None, _("Bank statement"))],
    }
    return render(
        request, "integrations/statement_upload.html", context, status=400 if error else 200
    )


@require(SALES_PAY)
def statement_detail(request, pk):
    from django.core.exceptions import ValidationError

    from kvartal.core.errors import DomainError

    from .statements import STATES, statement_apply

    statement = get_object_or_404(StatementImport, pk=pk, uploaded_by=request.user)
    error = ""
    if request.method == "POST":
        try:
            chosen = sorted({int(i) for i in request.POST.getlist("line")})
        except ValueError:
            chosen = []
        if not chosen:
            error = _("Tick the lines to record.")
        else:
            try:
                count = statement_apply(statement=statement, chosen=chosen, by=request.user)
            except (DomainError, ValidationError) as e:
                error = str(
                    getattr(e, "message", None) or "; ".join(getattr(e, "messages", [str(e)]))
                )
            else:
                messages.success(request, _("%(count)s payments recorded.") % {"count": count})
                return redirect("integrations:statement", pk=statement.pk)
    context = {
        "statement": statement,
        "lines": [
            (i, {**line, "state_label": STATES.get(line["state"], line["state"])})
            for i, line in enumerate(statement.lines)
        ],
        "error": error,
        "nav": "cashier",
        "crumbs": [
            (reverse("integrations:statement-upload"), _("Bank statement")),
            (None, statement.file_name),
        ],
    }
    return render(
        request, "integrations/statement_detail.html", context, status=400 if error else 200
    )
