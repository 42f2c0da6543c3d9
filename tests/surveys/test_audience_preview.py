"""Before launch, HR sees how many people a program will invite, and a warning under k."""

import pytest

from surveys import services
from surveys.models import Invitation
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, open_run, question


@pytest.fixture
def teams(org):
    billing = TeamFactory(name="Billing", parent=org["root"])
    refunds = TeamFactory(name="Refunds", parent=billing)
    for _ in range(4):
        EmployeeFactory(team=billing)
    for _ in range(3):
        EmployeeFactory(team=refunds)
    gone = EmployeeFactory(team=billing)
    gone.is_active = False  # left: a run would not invite them
    gone.save(update_fields=["is_active"])
    return {"billing": billing, "refunds": refunds}


def count_page(client, **params):
    return client.get("/surveys/audience-count/", params, HTTP_HX_REQUEST="true")


def test_the_count_follows_the_audience_and_teams(client, hr_admin, teams):
    client.force_login(hr_admin.user)
    only = count_page(client, audience="teams", teams=[teams["billing"].pk], anonymity_threshold=5)
    assert "4 people will be invited" in only.content.decode()
    below = count_page(
        client, audience="subtrees", teams=[teams["billing"].pk], anonymity_threshold=5
    )
    assert "7 people will be invited" in below.content.decode()
    assert "Fewer than" not in below.content.decode()


def test_it_warns_when_fewer_than_k_would_be_invited(client, hr_admin, teams):
    client.force_login(hr_admin.user)
    page = count_page(client, audience="teams", teams=[teams["refunds"].pk], anonymity_threshold=5)
    html = page.content.decode()
    assert "3 people will be invited" in html
    assert "Fewer than 5 people" in html


def test_the_count_is_who_the_run_then_invites(client, hr_admin, teams, opens):
    client.force_login(hr_admin.user)
    shown = count_page(
        client, audience="subtrees", teams=[teams["billing"].pk], anonymity_threshold=5
    )
    program = ProgramFactory(
        audience="subtrees", teams=[teams["billing"]], questions=[question("enps")]
    )
    run = open_run(program, opens)
    invited = Invitation.objects.filter(run=run).count()
    assert f"{invited} people will be invited" in shown.content.decode()
    assert invited == services.audience_for(program).count() == 7


def test_the_program_pages_show_the_count_and_wire_the_picker(client, hr_admin, teams):
    program = ProgramFactory(
        audience="teams", teams=[teams["refunds"]], questions=[question("enps")]
    )
    client.force_login(hr_admin.user)
    detail = client.get(f"/surveys/programs/{program.pk}/").content.decode()
    assert "3 people will be invited" in detail and "Fewer than 5 people" in detail
    edit = client.get(f"/surveys/programs/{program.pk}/edit/").content.decode()
    assert "3 people will be invited" in edit
    assert 'hx-get="/surveys/audience-count/"' in edit
    new = client.get("/surveys/programs/new/").content.decode()
    assert 'id="audience-count"' in new


def test_a_bad_audience_is_a_clear_400(client, hr_admin):
    client.force_login(hr_admin.user)
    page = count_page(client, audience="everyone", anonymity_threshold=5)
    assert page.status_code == 400
    assert "not one of the available choices" in page.content.decode()


def test_only_hr_counts_audiences(client, employee):
    client.force_login(employee.user)
    assert count_page(client, audience="organisation").status_code == 403
