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

Answers are partial, and the skips are placed where a per-group "k answers" check would leak:
all of Field but its first person skip "motivated", so the organisation (20 answers) minus Care
(19 answers) would be that one person's answer; most of Care A skip "stay" and "decide". The
attacker also knows who answered which question (the worst case) and repeats the derivation per
question and per driver, on the answers each shown figure adds up: no derived set may hold
1..k-1 answers of any question.
"""

import csv
import datetime as dt
import io
import itertools

import pytest

from surveys import services
from surveys.models import Driver, Invitation, Question, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run
from tests.lib.test_anonymity import derived_groups

K = 5
COMMENT_K = 10
ASKED = ("enps", "eng_proud", "eng_motivated", "eng_stay", "emp_decide")


def skipped(number):
    """The questions respondent `number` leaves blank (1-10 are Care A, 20-29 Field)."""
    skips = set()
    if 21 <= number <= 29:
        skips.add("eng_motivated")  # Field answers it once: org - Care would be one answer
    if 1 <= number <= 6:
        skips.add("eng_stay")  # all of Care A's new joiners and one more
    if 3 <= number <= 10:
        skips.add("emp_decide")  # two answers left in Care A
    return skips


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
    answered = {}  # respondent number -> question codes answered
    late = None
    for number, (employee, team, tenure, location, role, responds) in enumerate(people):
        if not responds:
            late = invitations[employee.pk]
            continue
        values = {
            "enps": (number * 7) % 11,
            "eng_proud": 1 + number % 5,
            "eng_motivated": 1 + (number * 3) % 5,
            "eng_stay": 1 + (number * 2) % 5,
            "emp_decide": 1 + (number * 4) % 5,
        }
        given = {code: value for code, value in values.items() if code not in skipped(number)}
        answer(invitations[employee.pk], TODAY, comment=f"comment {number}", **given)
        truth.append((number, team.path, tenure, location, role))
        answered[number] = set(given)
    run = services.survey_run_close(run=run, today=TODAY + dt.timedelta(days=6))
    # Responses are stored with teams and attributes coarsened (so each stored combination
    # holds 0 or k): the attacker, who knows who answered and the rule, knows that too.
    stored = services.response_cells_for_storage(
        k=K, cells=[(path, (tenure, location, role)) for _, path, tenure, location, role in truth]
    )
    truth = [
        (number, stored_path, *values)
        for (number, *_), (_, stored_path, values) in zip(truth, stored, strict=True)
    ]
    nodes = {
        "org": None,
        "company": org["root"],
        "care": care,
        "a": care_a,
        "b": care_b,
        "c": care_c,
        "field": field,
    }
    return {
        "run": run,
        "truth": truth,
        "answered": answered,
        "late": late,
        "nodes": nodes,
        "free_text": free_text,
    }


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
        group_kind = "subtree" if team is None else kind
        key = (group_kind, team.pk if team else None, tuple(sorted(filters.items())))
        pages.append((key, data))
        if data["reportable"]:
            published[key] = (data["respondents"], data["engagement_index"], data["enps"])
        if data["comments"]["shown"]:
            pool = data["comments"]["pooled_from"]
            # A small team shows the comments of the nearest team above it with enough.
            comment_key = key if pool is None else ("subtree", pool["team"], ())
            comments[comment_key] = sorted(data["comments"]["items"])
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
    csv_text = api.get(f"/api/v1/survey-runs/{run.pk}/results.csv").content.decode("utf-8-sig")
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
    # Field's one Leeds person is stored without a location (a combination of 1), so "Leeds"
    # is exactly Care A: the filter can be shown, and Leeds minus Care A is nobody.
    leeds = sets.get(("subtree", None, (("location", "Leeds"),)))
    assert leeds is None or leeds == sets[("subtree", scenario["nodes"]["a"].pk, ())]
    # Care's members other than Care A (its manager, B and C) are stored without attributes,
    # so "Support" cannot be Care minus its manager: it is hidden or exactly Care A.
    support = sets.get(("subtree", None, (("role_family", "Support"),)))
    assert support is None or support == sets[("subtree", scenario["nodes"]["a"].pk, ())]
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
    assert rows[0] == ["section", "group", "measure", "value", "respondents", "answers", "note"]
    team_ids = {team.name: team.pk for team in teams.values()}
    team_rows = [row for row in rows[1:] if row[0] == "team"]
    assert team_rows
    for _section, group, _measure, value, respondents, _answers, _note in team_rows:
        if value == "not shown":
            assert ("subtree", team_ids[group], ()) not in published
        else:
            assert int(respondents) == published[("subtree", team_ids[group], ())][0]
    assert pages[0][1]["group"]["label"] == "Whole organisation"


def figures_shown(pages):
    """Per group: the question, driver and pooled figures shown, wherever a page shows them.

    (group) -> {"questions": {id: answered}, "drivers": {driver: answered or None},
    "engagement_index": bool, "enps": bool}; heatmap rows and breakdowns count too.
    """
    shown = {}

    def entry(key):
        return shown.setdefault(
            key, {"questions": {}, "drivers": {}, "engagement_index": False, "enps": False}
        )

    for key, data in pages:
        if data["reportable"]:
            figures = entry(key)
            for row in data["questions"]:
                if row["shown"]:
                    figures["questions"][row["id"]] = row["answered"]
                else:
                    assert row["answered"] is None and row["favourable"] is None
            for row in data["drivers"]:
                if row["favourable"] is not None:
                    figures["drivers"][row["driver"]] = row["answered"]
                else:
                    assert row["mean"] is None and row["answered"] is None
            figures["engagement_index"] |= data["engagement_index"]["score"] is not None
            figures["enps"] |= data["enps"]["score"] is not None
        for row in (data["heatmap"] or {}).get("rows", []):
            if row["shown"]:
                figures = entry(("subtree", row["team"], ()))
                for driver, value in row["cells"].items():
                    if value is not None:
                        figures["drivers"].setdefault(driver, None)
                figures["engagement_index"] |= row["engagement_index"] is not None
                figures["enps"] |= row["enps"] is not None
        for row in data["breakdowns"]:
            if row["shown"]:
                figures = entry((*key[:2], ((row["attribute"], row["value"]),)))
                figures["engagement_index"] |= row["engagement_index"] is not None
                figures["enps"] |= row["enps"] is not None
    return shown


def answer_sets(pages, scenario):
    """Per driver: the sets of (question, respondent) answers that each shown figure adds up."""
    teams = {team.pk: team for team in scenario["nodes"].values() if team is not None}
    codes = {q.pk: q.code.replace("-", "_") for q in Question.objects.all()}
    drivers = {q.code.replace("-", "_"): q.driver for q in Question.objects.all()}
    by_driver = {driver: [c for c in ASKED if drivers[c] == driver] for driver in Driver.values}
    answered = scenario["answered"]
    families = {}  # driver -> list of frozensets of (code, respondent)

    def answers(group, questions):
        return frozenset((q, p) for p in group for q in questions if q in answered[p])

    for (kind, team_id, filters), figures in figures_shown(pages).items():
        group = members(scenario["truth"], kind, teams.get(team_id), dict(filters))
        for question_id, count in figures["questions"].items():
            code = codes[question_id]
            if code not in ASKED:
                continue
            found = answers(group, [code])
            assert len(found) == count, (kind, team_id, filters, code)
            families.setdefault(drivers[code], []).append(found)
        pooled = dict(figures["drivers"])
        if figures["engagement_index"]:
            pooled.setdefault(Driver.ENGAGEMENT, None)
        if figures["enps"]:
            pooled.setdefault(Driver.ENPS, None)
        for driver, count in pooled.items():
            found = answers(group, by_driver[driver])
            assert count is None or len(found) == count, (kind, team_id, filters, driver)
            families.setdefault(driver, []).append(found)
    return families


def test_no_answer_of_fewer_than_k_people_can_be_recovered_for_any_question(
    api, hr_admin, scenario
):
    _published, _comments, pages, _csv = collect(api, hr_admin, scenario)
    shown = figures_shown(pages)
    org, care = ("subtree", None, ()), ("subtree", scenario["nodes"]["care"].pk, ())
    motivated = Question.objects.get(code="eng-motivated").pk
    # The trap: 20 answers in the organisation, 19 in Care. The organisation keeps its figure.
    assert shown[org]["questions"][motivated] == 20
    assert motivated not in shown[care]["questions"]
    # Care still shows every other figure, but not the pooled ones that include "motivated".
    assert shown[care]["questions"][Question.objects.get(code="eng-proud").pk] == 19
    assert shown[care]["enps"] is True
    assert shown[care]["engagement_index"] is False
    assert Driver.ENGAGEMENT not in shown[care]["drivers"]
    # The organisation shows every figure it has k answers for.
    assert len(shown[org]["questions"]) == len(ASKED)
    assert shown[org]["engagement_index"] and shown[org]["enps"]

    families = answer_sets(pages, scenario)
    assert set(families) == {Driver.ENGAGEMENT, Driver.EMPOWERMENT, Driver.ENPS}
    for driver, sets in families.items():
        for derived in derived_groups(list(set(sets))):
            for code in ASKED:
                count = sum(1 for question, _ in derived if question == code)
                assert count == 0 or count >= K, (driver, code, sorted(derived))


def test_the_attacker_check_catches_a_per_group_answer_threshold(scenario):
    # Without the question-level plan, Care and the organisation would both show "motivated".
    answered = scenario["answered"]
    org = {("eng_motivated", p) for p in answered if "eng_motivated" in answered[p]}
    care = {(q, p) for q, p in org if p < 20}
    assert len(org) >= K and len(care) >= K
    leaked = frozenset(org - care)
    assert leaked in derived_groups([frozenset(org), frozenset(care)])
    assert len(leaked) == 1


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
