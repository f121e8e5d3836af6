"""A deal's documents: generate, download, sign, see whether the signature holds."""

from pathlib import Path

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import DOCUMENTS_CONFIGURE, DOCUMENTS_GENERATE, require
from kvartal.core.errors import DomainError
from kvartal.core.pages import form_page, refuse
from kvartal.sales.models import Deal

from . import services
from .forms import GenerateForm, SigningForm
from .models import DocumentSettings, GeneratedDocument


def _document(request, pk):
    deals = Deal.objects.for_user(request.user)
    return get_object_or_404(GeneratedDocument.objects.filter(deal__in=deals), pk=pk)


@require(DOCUMENTS_GENERATE)
def index(request):
    deals = Deal.objects.for_user(request.user)
    documents = GeneratedDocument.objects.filter(deal__in=deals).select_related("deal")[:100]
    return render(request, "documents/index.html", {"nav": "documents", "documents": documents})


@require(DOCUMENTS_GENERATE)
def deal_documents(request, pk):
    deal = get_object_or_404(Deal.objects.for_user(request.user), pk=pk)
    form = GenerateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.document_generate(deal=deal, kind=form.cleaned_data["kind"], by=request.user)
        except (DomainError, ValidationError) as error:
            refuse(form, error, aliases={"body": "kind"})
        else:
            messages.success(request, _("The document is generated."))
            return redirect("documents:deal", pk=deal.pk)
    documents = list(GeneratedDocument.objects.filter(deal=deal))
    for document in documents:
        document.check = services.document_verify(document) if document.signed_at else None
    status = (409 if getattr(form, "refused", False) else 400) if form.errors else 200
    return render(
        request,
        "documents/deal.html",
        {"nav": "documents", "deal": deal, "documents": documents, "form": form},
        status=status,
    )


@require(DOCUMENTS_GENERATE)
def download(request, pk, fmt):
    document = _document(request, pk)
    field = {"pdf": document.pdf, "docx": document.docx}.get(fmt)
    if not field:
        raise Http404
    return FileResponse(field.open("rb"), as_attachment=True, filename=Path(field.name).name)


@require(DOCUMENTS_GENERATE)
def sign(request, pk):
    document = _document(request, pk)
    form = forms.Form(request.POST or None)
    if request.method == "POST":
        try:
            services.document_sign(document=document, by=request.user)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("The document is signed."))
            return redirect("documents:deal", pk=document.deal_id)
    return form_page(
        request,
        form,
        title=_("Sign the document"),
        crumbs=[
            (reverse("documents:deal", args=[document.deal_id]), str(document.deal)),
            (None, _("Sign")),
        ],
        nav="documents",
        submit=_("Sign with the company's certificate"),
        subject=str(document),
    )


@require(DOCUMENTS_CONFIGURE)
def signing(request):
    current = DocumentSettings.current()
    form = SigningForm(
        request.POST or None,
        initial={"key_path": current.key_path, "cert_path": current.cert_path},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.signing_configure(by=request.user, **form.cleaned_data)
        except (DomainError, ValidationError) as error:
            refuse(form, error)
        else:
            messages.success(request, _("The signing key is set."))
            return redirect("documents:index")
    return form_page(
        request,
        form,
        title=_("The company's signing key"),
        crumbs=[(reverse("documents:index"), _("Documents")), (None, _("Signing key"))],
        nav="documents",
    )
