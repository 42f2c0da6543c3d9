"""Issue 17: everyday defects found walking every role's pages in a real browser."""

import datetime as dt

import pytest

from tests.e2e.conftest import PHONE
from tests.factories.actions import closed_run, make_action, pulse_program, recognition_answers
from tests.factories.people import EmployeeFactory
from tests.factories.recognition import RewardFactory, fund_wallet, give
from tests.factories.surveys import load_question_library
from tests.helpers import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("typed", ["Noah Davies", "Davies Noah", "noah dav"])
def test_the_give_form_finds_a_colleague_by_full_name_without_console_errors(
    open_session, cast, typed
):
    EmployeeFactory(first_name="Noah", last_name="Davies", team=cast["outsider"].team)
    EmployeeFactory(first_name="Noah", last_name="Smith", team=cast["outsider"].team)
    session = open_session()
    session.sign_in(cast["employee"].user.email, PASSWORD)
    session.go("/recognition/")

    with session.page.expect_response(lambda r: "who=" in r.url):
        session.page.fill("#id_who", typed)
    choices = session.page.locator("#who-choices")
    choices.get_by_label("Noah Davies").wait_for(timeout=5000)

    assert "Noah Smith" not in choices.inner_text()
    assert "Nobody matches" not in choices.inner_text()
    assert session.console_errors == []


def test_a_ticked_colleague_stays_ticked_through_the_next_search(open_session, cast):
    EmployeeFactory(first_name="Noah", last_name="Davies", team=cast["outsider"].team)
    session = open_session()
    session.sign_in(cast["employee"].user.email, PASSWORD)
    session.go("/recognition/")
    choices = session.page.locator("#who-choices")

    with session.page.expect_response(lambda r: "who=" in r.url):
        session.page.fill("#id_who", "Davies")
    choices.get_by_label("Noah Davies").check()
    with session.page.expect_response(lambda r: "who=Tom" in r.url):
        session.page.fill("#id_who", "Tom")
    choices.get_by_label("Tom Teammate").wait_for(timeout=5000)

    assert choices.get_by_label("Noah Davies").is_checked()
    assert session.console_errors == []


# For every table on the page: scrolled to its far end, is the last column's header on screen?
LAST_COLUMNS_OFF_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  const hidden = [];
  for (const table of document.querySelectorAll('main table')) {
    const cells = table.querySelectorAll('thead th');
    if (!cells.length) continue;
    const last = cells[cells.length - 1];
    for (let box = table.parentElement; box && box !== document.body; box = box.parentElement) {
      box.scrollLeft = box.scrollWidth;
    }
    last.scrollIntoView({block: 'center', inline: 'end'});
    const rect = last.getBoundingClientRect();
    if (rect.width === 0 || rect.left < 0 || rect.right > width + 1) {
      hidden.push(`${last.textContent.trim()} at ${Math.round(rect.right)}`);
    }
  }
  window.scrollTo(0, window.scrollY);
  return hidden;
}"""

LONG = "A rather long service desk name for the billing and collections team"


def _a_busy_organisation(cast, org) -> str:
    """Results, actions, points and redemptions with long names: the widest tables we make."""
    load_question_library()
    org["support_a"].name = LONG
    org["support_a"].save(update_fields=["name"])
    for _ in range(4):
        EmployeeFactory(team=org["support_a"])
    run = closed_run(
        pulse_program(),
        dt.date(2026, 3, 2),
        {org["support_a"]: recognition_answers([4, 5, 2, 2, 1, 3], [4, 2, 2, 2, 2, 2])},
    )
    make_action(
        by=cast["manager"],
        team=org["support_a"],
        title="Weekly shout-outs in the Monday huddle, with a note to the whole department",
    )
    fund_wallet(cast["employee"], 60, manager=cast["manager"], hr=cast["hr_admin"])
    give(cast["teammate"], cast["employee"], points=5)
    RewardFactory(name="An afternoon off with a long description of the reward", cost_points=10)
    return f"/surveys/runs/{run.pk}/results/"


@pytest.mark.parametrize("role", ["employee", "manager", "hr_admin", "executive"])
def test_on_a_phone_wide_tables_scroll_in_their_box_and_the_last_column_is_reachable(
    open_session, cast, org, role
):
    results = _a_busy_organisation(cast, org)
    phone = open_session(PHONE)
    phone.sign_in(cast[role].user.email, PASSWORD)
    team = f"/actions/team/{org['support_a'].pk}/"
    pages = ["/", "/actions/", "/actions/organisation/", team, results, "/surveys/", "/people/"]
    pages += ["/recognition/points/", "/recognition/rewards/", "/recognition/exceptions/"]
    if role == "hr_admin":
        pages += ["/recognition/redemptions/?status=all", "/recognition/budgets/", "/people/sync/"]
        pages += ["/recognition/catalogue/"]
        pages += ["/outcomes/", "/outcomes/metrics/", "/outcomes/sources/", "/audit/"]
    if role != "employee":
        pages += ["/recognition/policies/", "/recognition/not-recognised/", "/insights/culture/"]
        pages += ["/insights/exceptions/"]

    for path in pages:
        response = phone.go(path)
        if response.status == 403:
            continue  # not this role's page
        assert response.status == 200, path
        assert phone.horizontal_overflow() == 0, f"{path} scrolls sideways at 390 px"
        assert phone.page.evaluate(LAST_COLUMNS_OFF_SCREEN) == [], path
        phone.screenshot(f"{role}-{path.strip('/').replace('/', '-').split('?')[0]}-tables-390")
    assert phone.console_errors == []


def _tab_stops(session, count: int) -> list[str]:
    stops = []
    for _ in range(count):
        session.page.keyboard.press("Tab")
        stops.append(
            session.page.evaluate(
                "() => { const e = document.activeElement;"
                " return e.id || e.getAttribute('href') || e.textContent.trim(); }"
            )
        )
    return stops


def test_on_a_desktop_the_hidden_menu_toggle_is_not_a_tab_stop(open_session, cast):
    desktop = open_session()
    desktop.sign_in(cast["employee"].user.email, PASSWORD)
    desktop.go("/people/")

    stops = _tab_stops(desktop, 4)

    assert stops[:3] == ["#main", "/", "/"]  # skip link, brand, then the first menu item: Home
    assert "nav-toggle" not in stops


def test_on_a_phone_the_menu_toggle_is_reached_with_tab_and_opens_the_menu(open_session, cast):
    phone = open_session(PHONE)
    phone.sign_in(cast["employee"].user.email, PASSWORD)
    phone.go("/people/")

    assert _tab_stops(phone, 3) == ["#main", "/", "nav-toggle"]
    phone.page.keyboard.press("Space")
    assert phone.page.get_by_role("navigation", name="Main").is_visible()
