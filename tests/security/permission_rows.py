"""Permission matrix rows for the endpoints added by the security work (issue 7)."""

from tests.matrix import HR_ONLY_200, Case
from tests.outcomes.permission_rows import source

SECURITY_MATRIX: list[Case] = [
    Case(
        "POST",
        "/api/v1/outcome-sources/{id}/rotate-signing-secret/",
        HR_ONLY_200,
        target=lambda world: source(world).pk,
    ),
]
