"""The culture dashboard in a real browser at 390 px: the charts are drawn by our static script
(no inline script), the tables hold the API's numbers, and nothing scrolls sideways."""

import datetime as dt
from collections.abc import Sequence

import pytest
from django.utils import timezone

from cxculture.people.models import Employee, Team
from surveys import services as survey_services
from surveys.models import Invitation, Question, SurveyRun
from tests.e2e.conftest import BOTH_WIDTHS, PHONE
from tests.factories.outcomes import builtin_metrics
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import give
from tests.factories.surveys import ProgramFactory, answer, load_question_library, open_run
from tests.helpers import PASSWORD
from tests.insights.conftest import make_teams, outcomes, survey

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_run(teams: Sequence[Team], favourable: Sequence[int], opens: dt.date) -> SurveyRun:
    """A run over `teams` on the engagement items, closed a week after `opens`: in team i the
    first `favourable[i]` people agree with everything and the rest disagree; one more member
    of each team is invited and does not answer (a unanimous team of complete participation
    would have its figures hidden)."""
    engagement = list(Question.objects.filter(code__in=["eng-proud", "eng-motivated", "eng-stay"]))
    for team in teams:
        EmployeeFactory(team=team)
    program = ProgramFactory(
        audience="teams", teams=list(teams), questions=engagement, is_organisation_wide=True
    )
    run = open_run(program, opens)
    for team, agreeing in zip(teams, favourable, strict=True):
        invitations = Invitation.objects.filter(run=run, team_path=team.path).order_by("id")
        for index, invitation in enumerate(invitations[: invitations.count() - 1]):
            value = 4 if index < agreeing else 2
            answer(invitation, opens, eng_proud=value, eng_motivated=value, eng_stay=value)
    return survey_services.survey_run_close(run=run, today=opens + dt.timedelta(days=6))


def test_the_executive_dashboard_draws_its_charts_and_tables_on_a_phone(
    open_session, executive, org
):
    load_question_library()
    teams = make_teams(org["root"], [5, 5, 6], prefix="A rather long service desk name")
    today = timezone.localdate()
    _closed_run(teams, [5, 3, 1], today - dt.timedelta(days=80))
    _closed_run(teams, [4, 4, 6], today - dt.timedelta(days=30))
    people = list(Employee.objects.filter(team__in=teams).order_by("id"))
    for index in range(4):
        give(people[index], [people[index + 1]])
    phone = open_session(PHONE)
    phone.sign_in(executive.user.email, PASSWORD)

    response = phone.go("/insights/culture/")

    assert response.status == 200
    phone.page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart')")
    drawn = phone.page.evaluate(
        """() => {
            const canvas = document.getElementById('trend-chart');
            const chart = Chart.getChart(canvas);
            return {width: canvas.width, height: canvas.height,
                    points: chart.data.datasets[0].data};
        }"""
    )
    assert drawn["width"] > 0 and drawn["height"] > 0
    api = phone.page.evaluate(
        "() => fetch('/api/v1/insights/culture/').then((response) => response.json())"
    )
    assert drawn["points"] == [point["engagement_index"] for point in api["trend"]]
    assert len(api["trend"]) == 2 and all(point["shown"] for point in api["trend"])
    table = phone.page.evaluate(
        """() => Array.from(document.querySelectorAll('#trend-table tbody tr')).map((row) => {
            const cell = (field) => Number(row.querySelector(`[data-field=${field}]`).textContent);
            return {
                run: Number(row.dataset.run),
                engagement_index: cell('engagement_index'),
                respondents: cell('respondents'),
            };
        })"""
    )
    assert table == [
        {
            "run": point["run"],
            "engagement_index": point["engagement_index"],
            "respondents": point["respondents"],
        }
        for point in api["trend"]
    ]
    assert table[0]["engagement_index"] == 56  # 9 of 16, whole on 16 answers
    reach = phone.page.locator("#reach-table tbody tr").first.locator("td").first.text_content()
    assert reach is not None
    assert int(reach) == api["recognition"]["reach"][0]["recognised"] == 4
    charts = phone.page.evaluate(
        "() => Array.from(document.querySelectorAll('canvas[data-chart]'))"
        ".filter((canvas) => Chart.getChart(canvas)).length"
    )
    assert charts == 4
    assert phone.horizontal_overflow() == 0
    phone.screenshot("executive-culture-dashboard-390")
    assert phone.console_errors == []


def test_choosing_a_department_swaps_the_dashboard_and_redraws_its_charts(
    open_session, executive, org
):
    load_question_library()
    support = make_teams(org["support"], [5, 6], prefix="Support desk")
    sales = make_teams(org["sales"], [5, 5], prefix="Sales desk")
    today = timezone.localdate()
    _closed_run([*support, *sales], [5, 3, 1, 4], today - dt.timedelta(days=30))
    phone = open_session(PHONE)
    phone.sign_in(executive.user.email, PASSWORD)
    phone.go("/insights/culture/")
    phone.page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart')")
    # A marker that a full page load would wipe: the swap must keep the page.
    phone.page.evaluate("() => { window.cxcNoReload = true; }")

    phone.page.select_option("#id_department", str(org["sales"].pk))

    phone.page.wait_for_function(
        "() => document.querySelector('#culture-body .lead').textContent.startsWith('Sales')"
    )
    phone.page.wait_for_function("() => window.Chart && Chart.getChart('trend-chart')")
    assert phone.page.evaluate("() => window.cxcNoReload") is True
    assert f"department={org['sales'].pk}" in phone.page.url
    drawn = phone.page.evaluate("() => Chart.getChart('trend-chart').data.datasets[0].data")
    api = phone.page.evaluate(
        f"() => fetch('/api/v1/insights/culture/?department={org['sales'].pk}')"
        ".then((response) => response.json())"
    )
    assert drawn == [point["engagement_index"] for point in api["trend"]]
    assert drawn == [50.0]  # Sales desks: 1 + 4 of 10 agree
    assert phone.horizontal_overflow() == 0
    phone.screenshot("executive-culture-dashboard-sales-after-swap-390")
    assert phone.console_errors == []


def test_a_manager_sees_what_waits_for_them_on_the_dashboard_at_390_px(
    open_session, manager, employee, outsider, org
):
    from cxculture.people.permissions import viewer_for
    from tests.factories.actions import make_action
    from tests.factories.recognition import log_exception

    load_question_library()
    make_action(by=manager, team=org["support_a"], title="A rather long action title to wrap")
    make_action(by=manager, team=org["support_b"], title="Overdue", due_on=dt.date(2026, 1, 1))
    log_exception(employee)
    assert viewer_for(manager.user).is_manager
    phone = open_session(PHONE)
    phone.sign_in(manager.user.email, PASSWORD)

    phone.go("/insights/culture/")

    work = phone.page.locator("#my-work").inner_text()
    assert "Overdue" in work and "A rather long action title to wrap" in work
    assert phone.page.locator('[data-field="my-actions-count"]').inner_text() == "2"
    assert phone.page.locator('[data-field="my-exceptions-count"]').inner_text() == "1"
    assert "Olga" in phone.page.locator("#my-not-recognised").inner_text()
    assert phone.horizontal_overflow() == 0
    phone.screenshot("manager-culture-dashboard-my-work-390")
    assert phone.console_errors == []


# How wide a select's chosen text is against the room it has (its width less padding and the
# arrow): a choice cut off in the closed list is what "truncated labels" means.
CUT_OFF_SELECTS = """() => Array.from(document.querySelectorAll('form.filters select')).filter(
    (select) => {
        const style = getComputedStyle(select);
        const context = document.createElement('canvas').getContext('2d');
        context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
        const text = select.options[select.selectedIndex]?.text || '';
        const room = select.clientWidth - parseFloat(style.paddingLeft)
            - parseFloat(style.paddingRight) - 16;
        return context.measureText(text).width > room;
    }).map((select) => select.id)"""


def _cells(session, table: str) -> list[list[str]]:
    """A table's body as its text (not as styled: headers may be shown in capitals)."""
    return session.page.evaluate(
        f"""() => Array.from(document.querySelectorAll('{table} tbody tr')).map((row) =>
            Array.from(row.children).map((cell) => cell.textContent.trim()))"""
    )


@BOTH_WIDTHS
def test_an_executive_reads_the_dashboard_drills_into_a_department_and_opens_the_linkage(
    open_session, executive, org, viewport
):
    load_question_library()
    builtin_metrics()
    support = make_teams(org["support"], [5, 6, 5], prefix="Support desk")
    sales = make_teams(org["sales"], [5, 5], prefix="Sales desk")
    teams = [*support, *sales]
    survey(teams, [5, 3, 2, 1, 4])
    outcomes([("csat", team, 1.0 + i, "2026-03-05T12:00:00Z") for i, team in enumerate(teams)])
    session = open_session(viewport)
    session.sign_in(executive.user.email, PASSWORD)

    # The dashboard: one entry for the organisation, a department per row of the heatmap.
    session.use_menu("Dashboard")
    departments = session.page.locator("#id_department option").all_inner_texts()
    assert departments == ["The whole organisation", "Sales", "Support"]
    rows = session.page.locator("#heatmap-table tbody tr")
    assert _cells(session, "#heatmap-table") == [["Sales", "50"], ["Support", "63"]]
    session.shows("executive-journey-dashboard")

    # Drill into Support: its desks become the rows.
    with session.page.expect_navigation():
        rows.get_by_role("link", name="Support").click()
    lead = session.page.locator("#culture-body .lead").inner_text()
    assert lead.startswith("Support, from")
    assert _cells(session, "#heatmap-table") == [
        ["Support desk 1", "100"],
        ["Support desk 2", "50"],
        ["Support desk 3", "40"],
    ]
    session.shows("executive-journey-department")

    # The linkage: five desks, one point each, every choice readable in its list.
    session.use_menu("Insights")
    session.page.select_option("#id_metric", "csat")
    with session.page.expect_navigation():
        session.page.get_by_role("button", name="Show with the preset").click()
    session.page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.querySelector('canvas[data-scatter]'))"
    )
    drawn = session.page.evaluate(
        "Chart.getChart(document.querySelector('canvas[data-scatter]')).data.datasets[0].data"
    )
    assert sorted(point["y"] for point in drawn) == [1.0, 2.0, 3.0, 4.0, 5.0]
    points = session.page.locator("table", has_text="One row per team in the chart.")
    names = [name.strip() for name in points.locator("tbody th").all_text_contents()]
    assert sorted(names) == sorted(team.name for team in teams)
    assert "Across 5 teams" in session.page.locator(".summary").inner_text()
    assert session.page.evaluate(CUT_OFF_SELECTS) == []
    help_text = session.page.locator("#window-help").inner_text()
    assert help_text == "From the run's opening to 90 days after its close."
    session.shows("executive-journey-linkage")
    session.finish()
