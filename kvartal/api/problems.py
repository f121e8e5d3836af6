"""One error shape for the whole API: RFC 9457 problem details, with Kvartal's error code.

409 for a business rule that refused (a ``DomainError``: "held by another", "not on sale" …),
422 for input that fails validation, 401/403/404 as the pages answer, 429 with Retry-After.
"""

from django.http import JsonResponse

TYPE = "https://kvartal.example/problems/"


class Problem(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: dict | None = None,
        headers: dict | None = None,
    ):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.errors = errors or {}
        self.headers = headers or {}


TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
    422: "Unprocessable content",
    429: "Too many requests",
}


def problem_response(
    status: int, code: str, detail: str, errors: dict | None = None, headers: dict | None = None
) -> JsonResponse:
    body = {
        "type": TYPE + code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": str(detail),
        "code": code,
    }
    if errors:
        body["errors"] = {k: [str(m) for m in v] for k, v in errors.items()}
    response = JsonResponse(
        body,
        status=status,
        content_type="application/problem+json",
        json_dumps_params={"ensure_ascii": False},
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response
