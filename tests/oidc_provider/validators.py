"""Claims the test provider hands out: e-mail (with `email_verified`), a name, and the
person's HR number as the custom claim `employee_number`. serve.py keeps the number in the
provider user's `first_name` and "unverified" in `last_name` for an address the provider has
not verified (this provider uses those fields for nothing else)."""

from oauth2_provider.oauth2_validators import OAuth2Validator


class DirectoryClaimsValidator(OAuth2Validator):
    oidc_claim_scope = {
        **OAuth2Validator.oidc_claim_scope,
        "email": "email",
        "email_verified": "email",
        "employee_number": "profile",
    }

    def get_additional_claims(self, request):
        user = request.user
        return {
            "email": user.email,
            "email_verified": user.last_name != "unverified",
            "name": user.get_username(),
            "employee_number": user.first_name,
        }
