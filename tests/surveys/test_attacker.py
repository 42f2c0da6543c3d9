"""The attacker: an HR admin collects every figure the product shows for one run and tries to
recover the answers of fewer than k people by subtraction.

The organisation is built so that careless suppression would leak:

    Company
    ├── Care          1 direct member (its manager)             role Leadership
    │   ├── Care A    10 people, all in Leeds, 5 new joiners     role Support
    │   ├── Care B    2 people                                    role Support
    │   └── Care C    6 people                                    role Support
    └── Field         10 people, one of them in Leeds             role Sales

- a parent with one small child and direct members (Care: B has 2, the manager is alone),
- a team entirely inside a filter (Care A inside Leeds, with one more Leeds person elsewhere),
- two overlapping filters (new joiners and Leeds),
- a role filter that would single out the manager (Support = Care minus its manager).

The attacker knows who answered and everyone's team and attributes (HR does), takes every group
the API publishes, and derives new groups by set difference of nested groups and union of
disjoint ones until nothing new appears. No derived group may hold 1..k-1 respondents.
"""

import csv
import datetime as dt
import io
import itertools

import pytest

from surveys import services
from surveys.models import Invitation, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run
from tests.lib.test_anonymity import derived_groups

K = 5
COMMENT_K = 10
TODAY = dt.date(2026, 3, 2)
HIRED = {
    "lt1": TODAY - dt.timedelta(days=100),
    "1to2": TODAY - dt.timedelta(days=500),
    "2to5": TODAY - dt.timedelta(days=1000),
    "5plus": TODAY - dt.timedelta(days=3000),
}


@pytest.fixture
def scenario(org, hr_admin, executive):
    care = TeamFactory(name="Care", parent=org["root"])
    care_a = TeamFactory(name="Care A", parent=care)
    care_b = TeamFactory(name="Care B", parent=care)
    care_c = TeamFactory(name="Care C", parent=care)
    field = TeamFactory(name="Field", parent=org["root"])
    people = []  # (employee, team, tenure, location, role, answers?)

    def person(team, tenure, location, role, responds=True):
        employee = EmployeeFactory(
            team=team, hire_date=HIRED[tenure], location=location, role_family=role
        )
        people.append((employee, team, tenure, location, role, responds))

    person(care, "5plus", "York", "Leadership")
    for index in range(10):
        person(care_a, "lt1" if index < 5 else "1to2", "Leeds", "Support")
    for _ in range(2):
        person(care_b, "2to5", "York", "Support")
    person(care_b, "2to5", "York", "Support", responds=False)  # the late one
    for _ in range(6):
        person(care_c, "2to5", "York", "Support")
    for index in range(10):
        person(field, "lt1" if index < 5 else "1to2", "Leeds" if index == 0 else "York", "Sales")

    program = ProgramFactory(
        audience="subtrees",
        teams=[care, field],
        anonymity_threshold=K,
        comment_threshold=COMMENT_K,
    )
    free_text = services.question_create(
        text="What should we change first?", driver="enablement", kind="free_text"
    )
    program.questions.add(free_text)
    run = open_run(program, TODAY)
    invitations = {inv.employee_id: inv for inv in Invitation.objects.filter(run=run)}
    truth = []  # (respondent number, team path, tenure, location, role)
    late = None
    for number, (employee, team, tenure, location, role, responds) in enumerate(people):
        if not responds:
            late = invitations[employee.pk]
            continue
        answer(
            invitations[employee.pk],
            TODAY,
            comment=f"comment {number}",
            enps=(number * 7) % 11,
            eng_proud=1 + number % 5,
            eng_motivated=1 + (number * 3) % 5,
        )
        truth.append((number, team.path, tenure, location, role))
    run = services.survey_run_close(run=run, today=TODAY + dt.timedelta(days=6))
    nodes = {
        "org": None,
        "company": org["root"],
        "care": care,
        "a": care_a,
        "b": care_b,
        "c": care_c,
        "field": field,
    }
    return {"run": run, "truth": truth, "late": late, "nodes": nodes, "free_text": free_text}


def members(truth, kind, team, filters):
    found = set()
    for number, path, tenure, location, role in truth:
        values = {"tenure_band": tenure, "location": location, "role_family": role}
        if team is not None:
            inside = path.startswith(team.path) if kind == "subtree" else path == team.path
            if not inside:
                continue
        if all(values[name] == value for name, value in filters.items()):
            found.add(number)
    return frozenset(found)


FILTER_VALUES = {
    "tenure_band": ["lt1", "1to2", "2to5", "5plus"],
    "location": ["Leeds", "York"],
    "role_family": ["Support", "Sales", "Leadership"],
}


def all_requests(nodes):
    scopes = [("subtree", "org")] + [
        (kind, name) for name in nodes if name != "org" for kind in ("team", "subtree")
    ]
    for kind, name in scopes:
        yield kind, name, {}
        for attribute, values in FILTER_VALUES.items():
            for value in values:
                yield kind, name, {attribute: value}
        if name in ("org", "care"):
            for size in (2, 3):
                for attributes in itertools.combinations(FILTER_VALUES, size):
                    for values in itertools.product(*(FILTER_VALUES[a] for a in attributes)):
                        yield kind, name, dict(zip(attributes, values, strict=True))


def collect(api, hr_admin, scenario):
    """Every figure the API shows to an HR admin for the run: (group) -> (respondents, figures)."""
    run, nodes = scenario["run"], scenario["nodes"]
    api.as_(hr_admin)
    published, comments, pages = {}, {}, []
    for kind, name, filters in all_requests(nodes):
        team = nodes[name]
        params = dict(filters)
        if team is not None:
            params[kind] = team.pk
        response = api.get(f"/api/v1/survey-runs/{run.pk}/results/", params)
        assert response.status_code == 200, (params, response.content)
        data = response.json()
        pages.append(data)
        group_kind = "subtree" if team is None else kind
        key = (group_kind, team.pk if team else None, tuple(sorted(filters.items())))
        if data["reportable"]:
            published[key] = (data["respondents"], data["engagement_index"], data["enps"])
        if data["comments"]["shown"]:
            comments[key] = sorted(data["comments"]["items"])
        for row in (data["heatmap"] or {}).get("rows", []):
            if row["shown"]:
                published[("subtree", row["team"], ())] = (
                    row["respondents"],
                    row["engagement_index"],
                    row["enps"],
                )
        for row in data["breakdowns"]:
            if row["shown"]:
                base = (group_kind, team.pk if team else None)
                published[(*base, ((row["attribute"], row["value"]),))] = (
                    row["respondents"],
                    row["engagement_index"],
                    row["enps"],
                )
    csv_text = api.get(f"/api/v1/survey-runs/{run.pk}/results.csv").content.decode()
    return published, comments, pages, csv_text


def as_sets(published, scenario):
    teams = {team.pk: team for team in scenario["nodes"].values() if team is not None}
    sets = {}
    for (kind, team_id, filters), (respondents, *_figures) in published.items():
        group = members(scenario["truth"], kind, teams.get(team_id), dict(filters))
        assert len(group) == respondents, (kind, team_id, filters)
        sets[(kind, team_id, filters)] = group
    return sets


def test_no_group_under_k_can_be_recovered_from_everything_hr_sees(api, hr_admin, scenario):
    published, comments, pages, csv_text = collect(api, hr_admin, scenario)
    sets = as_sets(published, scenario)
    # The scenario publishes a useful picture, not nothing.
    names = {team.pk: key for key, team in scenario["nodes"].items() if team is not None}
    shown_teams = {
        names[team_id] for kind, team_id, f in sets if team_id and not f and kind == "subtree"
    }
    assert {"care", "a", "field"} <= shown_teams
    assert {"b", "c"}.isdisjoint(shown_teams)  # b is small; c is hidden so b can't be subtracted
    assert ("subtree", None, (("location", "Leeds"),)) not in sets  # Leeds minus Care A = 1
    assert ("subtree", None, (("role_family", "Support"),)) not in sets  # Care minus it = 1
    assert ("subtree", None, (("tenure_band", "lt1"),)) in sets  # cuts every block into 5s
    for group in derived_groups(list(set(sets.values()))):
        assert len(group) == 0 or len(group) >= K, sorted(group)

    # Comments: shown only without filters, and their groups cannot be narrowed either.
    teams = {team.pk: team for team in scenario["nodes"].values() if team is not None}
    comment_groups = []
    for (kind, team_id, filters), items in comments.items():
        assert not filters
        group = members(scenario["truth"], kind, teams.get(team_id), {})
        assert items == sorted(f"comment {number}" for number in group)
        comment_groups.append(group)
    assert comment_groups
    for group in derived_groups(list(set(comment_groups))):
        assert len(group) == 0 or len(group) >= COMMENT_K

    # The CSV export holds the same figures and hides the same teams.
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert rows[0] == ["section", "group", "measure", "value", "respondents", "note"]
    team_ids = {team.name: team.pk for team in teams.values()}
    team_rows = [row for row in rows[1:] if row[0] == "team"]
    assert team_rows
    for _section, group, _measure, value, respondents, _note in team_rows:
        if value == "not shown":
            assert ("subtree", team_ids[group], ()) not in published
        else:
            assert int(respondents) == published[("subtree", team_ids[group], ())][0]
    assert pages[0]["group"]["label"] == "Whole organisation"


def test_a_late_response_is_refused_so_every_view_stays_the_same(api, hr_admin, scenario):
    before = collect(api, hr_admin, scenario)
    token = services.invitation_token(scenario["late"].pk)
    response = api.as_(None).post(
        "/api/v1/responses/",
        {"token": token, "answers": [{"question": scenario["free_text"].pk, "text": "late"}]},
        format="json",
    )
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "run_closed"
    after = collect(api, hr_admin, scenario)
    assert before[0] == after[0] and before[1] == after[1] and before[3] == after[3]
    assert scenario["run"].status == SurveyRun.Status.CLOSED
