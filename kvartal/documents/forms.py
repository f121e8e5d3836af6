from django import forms
from django.utils.translation import gettext_lazy as _

from .models import DocumentKind


class GenerateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Document"), choices=DocumentKind.choices)


class SigningForm(forms.Form):
    key_path = forms.CharField(label=_("Signing key file (PEM)"), max_length=500)
    cert_path = forms.CharField(label=_("Certificate file (PEM)"), max_length=500)
    passphrase = forms.CharField(
        label=_("Key passphrase"), max_length=200, required=False, widget=forms.PasswordInput
    )
