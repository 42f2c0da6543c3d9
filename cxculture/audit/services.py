"""Writing to the audit log. Call `audit_record` inside the transaction of the audited change,
so the event is stored if and only if the change is."""

from typing import Any

from django.contrib.auth.models import User
from django.db import models

from cxculture.lib.addresses import client_ip

from .middleware import current_request
from .models import AuditEvent


def _actor_user(actor: Any) -> User | None:
    if actor is None or isinstance(actor, User):
        return actor
    user = getattr(actor, "user", None)  # an Employee
    return user if isinstance(user, User) else None


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model | None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditEvent:
    """Store one audit event. `actor` is a User, an Employee, or None: then the signed-in user of
    the current request (DRF sets it on the request it wraps), or the system outside requests.
    The IP address is the current request's unless given."""
    request = current_request.get()
    user = _actor_user(actor)
    if user is None and actor is None and request is not None:
        user = _actor_user(getattr(request, "user", None))
    if ip is None and request is not None:
        ip = client_ip(request)
    return AuditEvent.objects.create(
        actor=user,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        details=details or {},
        ip=ip,
    )


def audit_export(
    *, actor: Any, action: str, target: models.Model, scope: dict[str, Any], rows: int, via: str
) -> AuditEvent:
    """Record that `actor` took data out of the product: which object (`target`), which part
    of it (`scope`: the group and filters asked for, empty values dropped), how many rows, and
    through which door (`via`: "api" or "page"). Called after the export was built, so a
    refused export leaves no entry."""
    return audit_record(
        actor=actor,
        action=action,
        target=target,
        details={
            "scope": {key: value for key, value in scope.items() if value not in (None, "")},
            "rows": rows,
            "via": via,
        },
    )
