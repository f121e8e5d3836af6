"""The small kit every page uses: a service's refusal on a form, the form page, paging.

- ``refuse(form, error)``: a ``DomainError`` (next to its ``field`` when the form has it) or a
  ``ValidationError`` (by field, or on top of the form) from a service, shown on the form;
- ``form_page(request, form, title=…, crumbs=…, nav=…)``: one form on a card
  (``components/form_page.html``; extend it for a line above the form), 400 when the form
  has errors, 409 when a rule refused the action (``form.refused``);
- ``paginate(request, items)`` and ``{% pager page %}`` (``kvartal`` template tags).
"""

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from .errors import DomainError

PER_PAGE = 50


def refuse(form, error: Exception, *, aliases: dict[str, str] | None = None) -> None:
    """Put a service's refusal next to the field it concerns, or on top of the form.

    ``aliases`` maps a model field named by the service to the form field showing it. A
    ``DomainError`` marks the form ``refused`` (the page answers 409, not 400)."""
    aliases = aliases or {}

    def target(name):
        name = aliases.get(name, name)
        return name if name in form.fields else None

    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            for name, messages in error.message_dict.items():
                form.add_error(target(name), messages)
        else:
            form.add_error(None, error.messages)
        return
    form.add_error(target(getattr(error, "field", None)), str(error))
    if isinstance(error, DomainError):
        form.refused = True


def form_page(
    request,
    form,
    *,
    title,
    crumbs,
    nav: str,
    submit=None,
    cancel_url: str | None = None,
    template: str = "components/form_page.html",
    status: int | None = None,
    **context,
):
    """Render one form on a card. ``crumbs``: ``[(url or None, label), …]`` from the root;
    Cancel goes to the last crumb with a URL unless ``cancel_url`` is given."""
    if cancel_url is None:
        cancel_url = next((url for url, _label in reversed(crumbs) if url), None)
    if status is None:
        status = (409 if getattr(form, "refused", False) else 400) if form.errors else 200
    context = {
        "form": form,
        "title": title,
        "crumbs": crumbs,
        "nav": nav,
        "submit": submit or _("Save"),
        "cancel_url": cancel_url,
        **context,
    }
    return render(request, template, context, status=status)


def paginate(request, items, per_page: int = PER_PAGE, *, count: int | None = None) -> Page:
    """The page of ``items`` named by ``?page=`` (the last one when past the end).
    ``count``: the number of items when already known (saves a query)."""
    paginator = Paginator(items, per_page)
    if count is not None:
        paginator.count = count
    return paginator.get_page(request.GET.get("page"))
