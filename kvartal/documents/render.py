"""Merge fields rendered with a sandboxed Jinja environment. A name the data does not have
stops the rendering with ``UnknownMergeField`` naming it in full (``deal.numbr``), so nothing
is generated from a template with a typo."""

from io import BytesIO

from django.utils.translation import gettext as _
from docxtpl import DocxTemplate
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from kvartal.core.errors import DomainError


class UnknownMergeField(DomainError):
    field = "body"


class TemplateBroken(DomainError):
    field = "body"


class Fields(dict):
    """A dictionary that knows its path in the data, for the error message."""

    def __init__(self, data: dict, path: str = ""):
        super().__init__()
        self.path = path
        for key, value in data.items():
            self[key] = wrap(value, f"{path}.{key}" if path else key)


def wrap(value, path: str):
    if isinstance(value, dict):
        return Fields(value, path)
    if isinstance(value, list):
        return [wrap(item, path) for item in value]
    return value


class Unknown(StrictUndefined):
    def _fail_with_undefined_error(self, *args, **kwargs):
        owner = self._undefined_obj
        base = getattr(owner, "path", "") if isinstance(owner, Fields) else ""
        name = f"{base}.{self._undefined_name}" if base else str(self._undefined_name)
        raise UnknownMergeField(
            _("The template names an unknown merge field “%(field)s”: nothing was generated.")
            % {"field": name}
        )

    __str__ = __iter__ = __len__ = __bool__ = __eq__ = __ne__ = __hash__ = (
        _fail_with_undefined_error
    )
    __getattr__ = __getitem__ = _fail_with_undefined_error  # type: ignore[assignment]


def environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(undefined=Unknown, autoescape=True)


def _broken(error: Exception) -> TemplateBroken:
    return TemplateBroken(_("The template cannot be read: %(error)s") % {"error": error})


def render_html(body: str, data: dict) -> str:
    try:
        return environment().from_string(body).render(Fields(data))
    except UnknownMergeField:
        raise
    except TemplateError as error:
        raise _broken(error) from None


def render_docx(source, data: dict) -> bytes:
    """``source``: a DOCX file (path or file object) with merge fields."""
    try:
        document = DocxTemplate(source)
        document.render(Fields(data), jinja_env=SandboxedEnvironment(undefined=Unknown))
    except UnknownMergeField:
        raise
    except Exception as error:  # a broken DOCX or template syntax: docxtpl raises many kinds
        raise _broken(error) from None
    out = BytesIO()
    document.save(out)
    return out.getvalue()
