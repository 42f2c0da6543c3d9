"""What the results pages show around the figures: one entry for the organisation, a note on
what the engagement index pools and what "—" means, and a sentence where no teams are below."""

import re

import pytest

from surveys import services
from surveys.models import Invitation
from tests.factories.people import EmployeeFactory
from tests.factories.surveys import ProgramFactory, answer, open_run, question


@pytest.fixture
def crowd(org, cast):
    """Support A has 7 members, Support B 6, Sales 6: each team is reportable on its own."""
    for team, count in (("support_a", 5), ("support_b", 5), ("sales", 5)):
        for _ in range(count):
            EmployeeFactory(team=org[team])
    return org


def _pulse(opens, codes=("eng-proud", "eng-stay", "rec-noticed")):
    return open_run(ProgramFactory(questions=[question(code) for code in codes]), opens)


def _answer_all(run, opens, **values):
    for invitation in Invitation.objects.filter(run=run):
        answer(invitation, opens, **values)


def _row_names(html: str, table_heading: str) -> list[str]:
    section = html.split(f">{table_heading}</h2>", 1)[1].split("</section>", 1)[0]
    return [
        re.sub(r"<[^>]+>", "", name).strip()
        for name in re.findall(r'<th scope="row"[^>]*>(.*?)</th>', section, re.S)
    ]


def test_the_participation_table_has_one_row_for_the_organisation(client, opens, cast, crowd):
    run = _pulse(opens)
    client.force_login(cast["hr_admin"].user)

    html = client.get(f"/surveys/runs/{run.pk}/results/").content.decode()

    names = _row_names(html, "Participation")
    assert names[0] == "Whole organisation"
    assert "Company" not in names
    assert names[1:] == ["Sales", "Support", "Support A", "Support B"]


def test_the_group_choice_of_the_results_has_one_entry_for_the_organisation(
    client, opens, cast, crowd
):
    run = _pulse(opens)
    _answer_all(run, opens, eng_proud=4, eng_stay=4, rec_noticed=2)
    services.survey_run_close(run=run, today=opens)
    client.force_login(cast["hr_admin"].user)

    html = client.get(f"/surveys/runs/{run.pk}/results/").content.decode()

    select = re.search(r'<select id="subtree".*?</select>', html, re.S).group(0)
    assert re.findall(r"<option[^>]*>([^<]*)</option>", select) == ["Whole organisation", "Support"]


@pytest.fixture
def closed(opens, crowd):
    run = _pulse(opens)
    _answer_all(run, opens, eng_proud=4, eng_stay=4, rec_noticed=2)
    return services.survey_run_close(run=run, today=opens)


def test_a_team_with_no_teams_below_gets_a_sentence_not_an_empty_table(client, cast, org, closed):
    client.force_login(cast["manager"].user)

    html = client.get(
        f"/surveys/runs/{closed.pk}/results/", {"subtree": org["support_a"].pk}
    ).content.decode()

    assert 'class="heatmap"' not in html
    assert "Support A has no teams below it" in html


def test_a_department_still_gets_its_teams_table(client, cast, org, closed):
    client.force_login(cast["manager"].user)

    html = client.get(f"/surveys/runs/{closed.pk}/results/").content.decode()

    assert 'class="heatmap"' in html
    assert "has no teams below it" not in html


def test_the_results_say_how_the_index_differs_from_the_engagement_driver_and_what_a_dash_means(
    client, cast, closed
):
    client.force_login(cast["hr_admin"].user)

    html = client.get(f"/surveys/runs/{closed.pk}/results/").content.decode()

    note = re.search(r'<p class="muted" id="drivers-note">(.*?)</p>', html, re.S)
    assert note, "no note under the drivers"
    assert "engagement index averages the engagement questions asked in this run" in note.group(1)
    assert "“—”" in note.group(1) and "not asked" in note.group(1)
