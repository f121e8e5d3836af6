"""Requests refused at the door, the same way for every page, form, export and API call."""

from django.core.exceptions import BadRequest


def _holds_null(data) -> bool:
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in data.lists())


class RefuseNullCharactersMiddleware:
    """A NUL character in the query string or in a sent form: 400, before any view runs.

    No text Kvartal keeps may hold one (PostgreSQL refuses it; Django's form fields say "Null
    characters are not allowed"), but what a view reads raw — the search box, a list's filter
    — reached the database with it and failed there, as a server error. Placed after the
    session and the user are read, so the 400 page is drawn in the reader's layout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _holds_null(request.GET) or (
            request.method == "POST"
            and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
            and _holds_null(request.POST)
        ):
            raise BadRequest("A null character in the request.")
        return self.get_response(request)
