"""Domain errors: raised by services, turned into a form error by views and HTTP 409 by the API."""


class DomainError(Exception):
    """A business rule refused the action; nothing was changed."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field

    def __str__(self) -> str:
        return str(self.message)
