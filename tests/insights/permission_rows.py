"""Permission matrix rows for insights: managers (their subtrees), HR admins and executives
(the whole organisation) read every endpoint; other employees get 403, anonymous 401.

The world has no closed survey run and no exceptions, so an allowed read is a 200 that says so.
"""

from tests.matrix import Case, statuses

INSIGHT_READERS = statuses(403, manager=200, hr_admin=200, executive=200)

INSIGHTS_MATRIX: list[Case] = [
    Case("GET", "/api/v1/insights/linkage/", INSIGHT_READERS),
    Case("GET", "/api/v1/insights/exceptions/", INSIGHT_READERS),
    Case("GET", "/api/v1/insights/culture/", INSIGHT_READERS),
]
