"""The client's address, as the audit log, the login lockout and the throttles read it."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind `CXC_TRUSTED_PROXY_COUNT` reverse proxies
    the address the outermost of them saw (counted from the right of X-Forwarded-For, since a
    client can put anything on the left)."""
    proxies = settings.CXC_TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR") or None
    if proxies <= 0:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    return hops[-proxies] if len(hops) >= proxies else remote
