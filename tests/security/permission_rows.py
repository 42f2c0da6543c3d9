"""Permission matrix rows for the endpoints added by the security work (issue 7)."""

from tests.matrix import Case, statuses
from tests.outcomes.permission_rows import source

HR_ONLY_200 = statuses(403, hr_admin=200)

SECURITY_MATRIX: list[Case] = [
    Case(
        "POST",
        "/api/v1/outcome-sources/{id}/rotate-signing-secret/",
        HR_ONLY_200,
        target=lambda world: source(world).pk,
    ),
]
