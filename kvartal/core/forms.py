"""Forms drawn as the rows of a table: the column heads are their labels on screen, but a
screen reader does not tie a head to the inputs under it. Each input is named by its column
and its row instead ("Last name, row 2"), in one place for every such table."""

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext as _


def name_cells(form: forms.BaseForm, row: str) -> None:
    """Name each visible input of ``form`` (one row of a table) by its field's label and
    ``row`` (a hidden one, such as the row's id, is not read out)."""
    for field in form.fields.values():
        if field.label and not field.widget.is_hidden:
            field.widget.attrs.setdefault(
                "aria-label",
                _("%(column)s, %(row)s") % {"column": capfirst(field.label), "row": row},
            )


class TableRows:
    """A formset drawn as a table (mixed in before ``BaseFormSet`` or ``BaseInlineFormSet``):
    each form's inputs named by column and row; the blank row a page adds by script as a new
    row."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = _("new row") if index is None else _("row %(n)s") % {"n": index + 1}
        name_cells(form, row)
