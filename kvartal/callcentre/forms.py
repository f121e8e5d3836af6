"""The panel's small forms: a note, a task, a visit, a transfer, an outcome, a script answer."""

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy

from kvartal.accounts.models import User
from kvartal.clients.forms import TaskForm, staff_for
from kvartal.core.widgets import DateTimeField

__all__ = ["TaskForm"]  # the panel's task form is the clients' one

from .models import CallOutcome


class NoteForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("note"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2, "id": "note-text"}),
    )


def _managers():
    return staff_for(None, everyone=True)


class VisitBookForm(forms.Form):
    at = DateTimeField(label=gettext_lazy("visit time"))
    manager = forms.ModelChoiceField(
        label=gettext_lazy("received by"), queryset=User.objects.none()
    )
    note = forms.CharField(label=gettext_lazy("note"), required=False, max_length=2000)

    def __init__(self, *args, client=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = _managers()
        if client is not None and client.manager_id:
            self.initial.setdefault("manager", client.manager_id)
        tomorrow = timezone.localtime() + timedelta(days=1)
        self.initial.setdefault("at", tomorrow.replace(hour=12, minute=0, second=0, microsecond=0))


class TransferForm(forms.Form):
    manager = forms.ModelChoiceField(label=gettext_lazy("manager"), queryset=User.objects.none())
    note = forms.CharField(label=gettext_lazy("note"), required=False, max_length=2000)

    def __init__(self, *args, client=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = _managers()
        if client is not None and client.manager_id:
            self.initial.setdefault("manager", client.manager_id)


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("outcome"), choices=[("", "—"), *CallOutcome.choices]
    )
    reason = forms.CharField(
        label=gettext_lazy("reason"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("reason, when lost")}),
    )


class AnswerForm(forms.Form):
    step = forms.IntegerField(min_value=1)
    answer = forms.CharField(label=gettext_lazy("answer"), max_length=300)
