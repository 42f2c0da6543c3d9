"""Issue 17: everyday defects found walking every role's pages in a real browser."""

import pytest

from tests.factories.people import EmployeeFactory
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
