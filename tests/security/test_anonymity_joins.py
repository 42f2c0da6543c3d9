"""Anonymity at rest: someone holding the whole database cannot join a person to an answer.

A realistic small organisation (a tiny team, a one-person team, a unanimous team, mixed
locations, role families and tenures) answers a pulse through the API, and the run closes.
Then the attacker gets every column on the person side (invitations, employees, users, and
what can be inferred from them: ancestor teams, tenure bands, PostgreSQL's `xmin`, physical row
order) and on the answer side (responses, answers, their `xmin` and physical order), and joins
every person column with every answer column.

The attacker is given the best possible luck: a join counts when it holds for *every* response
(as a real key would), an empty stored value matches anyone, and all such joins are applied at
once. For every response, the people it can then belong to must number at least k. A planted
leak (a copy of the invitation id on the answer side, or the invitation's `xmin` as
`survey_run_close` used to leave it) is found, so the scan is not blind.
"""

import datetime as dt
from collections import defaultdict

import pytest
from django.db import connection, transaction

from surveys import services
from surveys.models import Answer, Invitation, Response, TenureBand
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, load_question_library, open_run, question

K = 5
OPENS = dt.date(2026, 3, 2)
CLOSES = OPENS + dt.timedelta(days=6)


def _system_columns(model) -> dict[str, dict[str, str]]:
    """Per row id: its physical rank and, on PostgreSQL, its `xmin`."""
    table = model._meta.db_table
    order = "ctid" if connection.vendor == "postgresql" else "rowid"
    xmin = "xmin::text" if connection.vendor == "postgresql" else "''"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {xmin} FROM {table} ORDER BY {order}")  # noqa: S608
        rows = cursor.fetchall()
    return {
        str(pk).replace("-", ""): {"rank": str(rank), "xmin": xmin_value}
        for rank, (pk, xmin_value) in enumerate(rows)
    }


def _ancestors(path: str) -> set[str]:
    ids = [part for part in path.strip("/").split("/") if part]
    return {"/" + "/".join(ids[: n + 1]) + "/" for n in range(len(ids))} | {""}


@pytest.fixture
def closed_run(org):
    """Company > Care (Leeds and York, agents and leads) > Tiny (2) and Night (6, unanimous);
    Company > Field (12); Company > Solo (1)."""
    load_question_library()
    care = TeamFactory(name="Care", parent=org["support"])
    tiny = TeamFactory(name="Tiny", parent=care)
    night = TeamFactory(name="Night", parent=care)
    field = TeamFactory(name="Field", parent=org["support"])
    solo = TeamFactory(name="Solo", parent=org["support"])
    hired = [OPENS - dt.timedelta(days=days) for days in (100, 500, 1000, 3000)]
    people = []
    for n in range(20):
        people.append(
            EmployeeFactory(
                team=care,
                location=("Leeds", "York")[n % 2],
                role_family=("Agent", "Lead")[n % 7 == 0],
                hire_date=hired[n % 4],
            )
        )
    people += [EmployeeFactory(team=tiny, location="Hull", role_family="Agent") for _ in range(2)]
    people += [EmployeeFactory(team=night, location="Leeds", role_family="Agent") for _ in range(6)]
    people += [
        EmployeeFactory(team=field, location=("York", "Derby")[n % 3 == 0], hire_date=hired[n % 4])
        for n in range(12)
    ]
    people.append(EmployeeFactory(team=solo, location="Skye", role_family="Engineer"))
    run = open_run(ProgramFactory(audience="subtrees", teams=[org["support"]]), OPENS)
    enps, proud = question("enps").pk, question("eng-proud").pk
    invitations = {inv.employee_id: inv for inv in Invitation.objects.filter(run=run)}
    author_of = {}  # comment -> invitation id
    for n, person in enumerate(people):
        if n % 9 == 4 and person.team_id == care.pk:
            continue  # a few of Care do not answer
        invitation = invitations[person.pk]
        unanimous = person.team_id == night.pk
        body = {
            "token": services.invitation_token(invitation.pk),
            "answers": [
                {"question": enps, "value": 10 if unanimous else n % 11},
                {"question": proud, "value": 5 if unanimous else 1 + n % 5},
            ],
            "comment": f"marker{n}",
        }
        # Each submission is its own transaction, as in production (on PostgreSQL one
        # statement outside any transaction); inside the test's, a savepoint stands for it.
        with transaction.atomic():
            services.response_submit(
                invitation_id=invitation.pk,
                answers=[services.AnswerInput(**item) for item in body["answers"]],
                comment=body["comment"],
                today=OPENS + dt.timedelta(days=n % 5),
            )
        author_of[f"marker{n}"] = invitation.pk
    services.survey_run_close(run=run, today=CLOSES)
    return run, author_of


def _person_side(run) -> dict[int, dict[str, set[str]]]:
    """Every column an attacker holds about each responder (keyed by invitation id)."""
    system = _system_columns(Invitation)
    responders = (
        Invitation.objects.filter(run=run, responded_on__isnull=False)
        .select_related("employee__user")
        .order_by("pk")
    )
    by_xmin = sorted(responders, key=lambda inv: int(system[str(inv.pk)]["xmin"] or 0))
    xmin_rank = {inv.pk: str(rank) for rank, inv in enumerate(by_xmin)}
    by_day = sorted(responders, key=lambda inv: (inv.responded_on, inv.pk))
    day_rank = {inv.pk: str(rank) for rank, inv in enumerate(by_day)}
    features = {}
    for inv in responders:
        person, user = inv.employee, inv.employee.user
        bands = {
            TenureBand.for_hire_date(person.hire_date, day) for day in (OPENS, inv.responded_on)
        }
        values = {
            "team_path": _ancestors(inv.team_path),
            "team_id": {part for part in inv.team_path.strip("/").split("/") if part},
            "location": {person.location},
            "role_family": {person.role_family},
            "tenure_band": {str(band) for band in bands},
            "responded_on": {str(inv.responded_on)},
            "sent_on": {str(inv.sent_on)},
            "invitation_id": {str(inv.pk)},
            "employee_id": {str(person.pk)},
            "user_id": {str(user.pk)},
            "date_joined": {str(user.date_joined.date())},
            "xmin": {system[str(inv.pk)]["xmin"]},
            "physical_rank": {system[str(inv.pk)]["rank"]},
            "xmin_rank": {xmin_rank[inv.pk]},
            "responded_rank": {day_rank[inv.pk]},
        }
        features[inv.pk] = {name: {str(v) for v in found} for name, found in values.items()}
    return features


def _answer_side(run) -> dict[str, dict[str, str]]:
    """Every column an attacker holds about each stored response (keyed by its comment)."""
    responses = _system_columns(Response)
    answers = _system_columns(Answer)
    answer_xmins: dict[str, set[str]] = defaultdict(set)
    for answer_id, response_id in Answer.objects.filter(response__run=run).values_list(
        "pk", "response_id"
    ):
        answer_xmins[response_id.hex].add(answers[answer_id.hex]["xmin"])
    rows = {}
    for response in Response.objects.filter(run=run):
        system = responses[response.pk.hex]
        (answer_xmin,) = answer_xmins[response.pk.hex] or {""}
        rows[response.comment] = {
            "team_path": response.team_path,
            "team_id": str(response.team_id or ""),
            "location": response.location,
            "role_family": response.role_family,
            "tenure_band": response.tenure_band,
            "xmin": system["xmin"],
            "answer_xmin": answer_xmin,
            "physical_rank": system["rank"],
            "response_id": response.pk.hex,
        }
    return rows


def _smallest_candidate_sets(people, answers, author_of):
    """Join every person column with every answer column; keep the joins that hold for every
    response; return the joins kept and, per response, the people all of them leave."""
    kept = []
    person_columns = next(iter(people.values())).keys()
    answer_columns = next(iter(answers.values())).keys()
    for person_column in person_columns:
        for answer_column in answer_columns:
            if all(
                not row[answer_column] or row[answer_column] in people[author][person_column]
                for comment, row in answers.items()
                for author in [author_of[comment]]
            ):
                kept.append((person_column, answer_column))
    candidates = {}
    for comment, row in answers.items():
        candidates[comment] = {
            pk
            for pk, columns in people.items()
            if all(
                not row[answer_column] or row[answer_column] in columns[person_column]
                for person_column, answer_column in kept
            )
        }
    return kept, candidates


def test_no_join_of_any_columns_narrows_a_response_to_fewer_than_k_people(closed_run):
    run, author_of = closed_run
    people = _person_side(run)
    answers = _answer_side(run)
    assert len(answers) == len(people) == len(author_of)

    kept, candidates = _smallest_candidate_sets(people, answers, author_of)

    # The scan does join what it should: stored teams are ancestors of the invitation's team.
    assert ("team_path", "team_path") in kept
    narrowest = min(candidates.items(), key=lambda item: len(item[1]))
    assert len(narrowest[1]) >= K, (narrowest, kept)
    for comment, found in candidates.items():
        assert author_of[comment] in found


def test_the_join_scan_finds_a_planted_key_and_the_old_shared_xmin(closed_run):
    run, author_of = closed_run
    people = _person_side(run)
    answers = _answer_side(run)
    for comment, row in answers.items():
        row["planted"] = str(author_of[comment])
    kept, candidates = _smallest_candidate_sets(people, answers, author_of)
    assert ("invitation_id", "planted") in kept
    assert all(len(found) == 1 for found in candidates.values())

    # Before answers were sealed, a response was inserted in the invitation's transaction.
    for comment, row in answers.items():
        del row["planted"]
        row["xmin"] = next(iter(people[author_of[comment]]["xmin"])) or "0"
    kept, candidates = _smallest_candidate_sets(people, answers, author_of)
    if connection.vendor == "postgresql":
        assert ("xmin", "xmin") in kept
        assert all(len(found) == 1 for found in candidates.values())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="xmin is PostgreSQL's")
@pytest.mark.usefixtures("closed_run")
def test_no_invitation_shares_a_transaction_with_a_response_or_an_answer():
    invitations = {v["xmin"] for v in _system_columns(Invitation).values()}
    responses = {v["xmin"] for v in _system_columns(Response).values()}
    answers = {v["xmin"] for v in _system_columns(Answer).values()}
    assert invitations.isdisjoint(responses | answers)
    # The whole run is stored by one transaction: its xmin says nothing about anyone.
    assert len(responses) == 1 and responses == answers
