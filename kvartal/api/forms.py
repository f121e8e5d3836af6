from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kvartal.accounts.models import User

from .models import SCOPES, ApiToken, Webhook, WebhookEvent
from .webhooks import UnsafeAddress, check_address


class TokenForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"),
        choices=[(code, label) for code, (label, _caps) in SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiToken
        fields = ["name", "user", "scopes", "addresses", "rate"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by("username")

    def clean_addresses(self):
        import ipaddress

        value = self.cleaned_data["addresses"]
        for item in [i.strip() for i in value.split(",") if i.strip()]:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValidationError(
                    _("“%(item)s” is not an address or a network."), params={"item": item}
                ) from None
        return value

    def clean_rate(self):
        rate = self.cleaned_data["rate"]
        if not 1 <= rate <= 100_000:
            raise ValidationError(_("Between 1 and 100 000 requests a minute."))
        return rate


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Webhook
        fields = ["name", "url", "events", "allow_private", "is_active"]

    def clean(self):
        data = super().clean()
        url = data.get("url")
        if url:
            try:
                check_address(url, allow_private=data.get("allow_private", False))
            except UnsafeAddress as error:
                self.add_error(
                    "url",
                    _(
                        "Refused: %(reason)s. Tick “allow private addresses” for a receiver "
                        "inside the company's network."
                    )
                    % {"reason": error},
                )
        return data
