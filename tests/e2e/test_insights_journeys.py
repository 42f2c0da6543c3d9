"""The insights pages in a real browser at 390 px: the chart is drawn by our static script (no
inline script), every point is in the table, and nothing scrolls sideways."""

import datetime as dt
from decimal import Decimal

import pytest

from cxculture.people.permissions import viewer_for
from recognition import services as recognition_services
from tests.e2e.conftest import PHONE
from tests.factories.outcomes import builtin_metrics
from tests.factories.people import PolicyFactory
from tests.factories.surveys import load_question_library
from tests.helpers import PASSWORD
from tests.insights.conftest import make_teams, outcomes, survey

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_insights_pages_work_on_a_phone(open_session, hr_admin, employee, org):
    phone = open_session(PHONE)
    load_question_library()
    builtin_metrics()
    teams = make_teams(org["root"], [5] * 6, prefix="A rather long service desk name")
    run = survey(teams, [0, 1, 2, 3, 4, 5])
    outcomes([("csat", t, 1.0 + i % 5, "2026-03-05T12:00:00Z") for i, t in enumerate(teams)])
    exception = recognition_services.exception_log(
        employee=employee,
        policy=PolicyFactory(name="Refund window"),
        what_was_done="Refunded.",
        why="Lost parcel.",
        customer_ref="C1",
        cost=Decimal("12.50"),
        occurred_on=dt.date(2026, 3, 1),
    )
    recognition_services.exception_review(
        exception=exception, viewer=viewer_for(hr_admin.user), decision="approved"
    )
    phone.sign_in(hr_admin.user.email, PASSWORD)

    response = phone.go(f"/insights/linkage/?run={run.pk}&metric=csat")

    assert response.status == 200
    phone.page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('canvas[data-scatter]'))"
    )
    drawn = phone.page.evaluate(
        "Chart.getChart(document.querySelector('canvas[data-scatter]')).data.datasets[0].data.length"
    )
    assert drawn == 6
    assert phone.page.locator("table tbody tr th[scope=row]").count() >= 6
    assert phone.horizontal_overflow() == 0
    phone.screenshot("insights-linkage-390")

    response = phone.go("/insights/exceptions/?since=2026-01-01&until=2026-12-31")

    assert response.status == 200
    assert phone.page.get_by_role("rowheader", name="Refund window").count() == 1
    assert phone.horizontal_overflow() == 0
    phone.screenshot("insights-exceptions-390")
    assert phone.console_errors == []
