"""The "Sign in with <provider>" button of the sign-in page, shown when single sign-on is on."""

from typing import Any

from django import template

from cxculture.people.oidc import oidc_enabled, provider_name

register = template.Library()


@register.inclusion_tag("registration/_oidc_button.html")
def oidc_sign_in_button(next_url: str = "") -> dict[str, Any]:
    return {"enabled": oidc_enabled(), "provider_name": provider_name(), "next": next_url}
