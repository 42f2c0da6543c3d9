"""The errors a service raises when a rule of the product is broken.

Plain exceptions, nothing of HTTP: `lib/api.py` answers them in the API's error format
(`{"error": {"code", "message", "fields"}}`) with `status`, and pages show `message` on the form
at `field`.
"""


class DomainError(Exception):
    """A rule of the product was broken; the API answers 400 (or `status`) with `code`."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field


class ConflictError(DomainError):
    """The request is valid but the current state does not allow it (409)."""

    status = 409
    code = "conflict"
