"""What a closed run stores: responses coarsened so every stored combination holds 0 or k,
undated, written at the close from sealed boxes that nothing in the database can read."""

import datetime as dt
from collections import Counter

import pytest
from django.db import models

from cxculture.lib import sealing
from surveys import services
from surveys.models import Answer, Invitation, Response, SealedResponse, SurveyRun
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, answer, open_run

K = 5


@pytest.fixture
def run(org, opens):
    """Support > Care (8: Leeds and one in Hull) > Tiny (2); Support > Field (6)."""
    care = TeamFactory(name="Care", parent=org["support"])
    tiny = TeamFactory(name="Tiny", parent=care)
    field = TeamFactory(name="Field", parent=org["support"])
    for n in range(8):
        EmployeeFactory(
            team=care,
            location="Hull" if n == 0 else "Leeds",
            role_family="Agent",
            hire_date=opens - dt.timedelta(days=100),
        )
    for _ in range(2):
        EmployeeFactory(team=tiny, location="Leeds", role_family="Agent")
    for _ in range(6):
        EmployeeFactory(team=field, location="York", role_family="Sales")
    run = open_run(ProgramFactory(audience="subtrees", teams=[org["support"]]), opens)
    for n, invitation in enumerate(Invitation.objects.filter(run=run).order_by("pk")):
        answer(invitation, opens, comment=f"comment {n}", enps=n % 11, eng_proud=1 + n % 5)
    return {"run": run, "care": care, "tiny": tiny, "field": field}


def test_nothing_is_stored_as_a_response_until_the_run_closes(run, opens):
    assert Response.objects.count() == 0
    assert SealedResponse.objects.filter(run=run["run"]).count() == 16
    services.survey_run_close(run=run["run"], today=opens)
    assert Response.objects.filter(run=run["run"]).count() == 16
    assert Answer.objects.filter(response__run=run["run"]).count() == 32
    assert SealedResponse.objects.count() == 0
    assert sorted(Response.objects.values_list("comment", flat=True)) == sorted(
        f"comment {n}" for n in range(16)
    )


def test_every_stored_team_and_attribute_combination_holds_0_or_k(run, opens):
    services.survey_run_close(run=run["run"], today=opens)
    stored = Counter(
        Response.objects.values_list("team_path", "tenure_band", "location", "role_family")
    )
    assert min(stored.values()) >= K, stored
    # Tiny's two answers are stored with Care, so Care's subtree keeps all ten of them.
    paths = Counter(Response.objects.values_list("team_path", flat=True))
    assert paths == {run["care"].path: 10, run["field"].path: 6}
    # The one Hull person's location is not kept; Leeds people's are where 5 or more share it.
    assert not Response.objects.filter(location="Hull").exists()
    assert Response.objects.filter(team_id=run["field"].pk, location="York").count() == 6


def test_a_close_that_fails_loses_no_answer(run, opens, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(Answer.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        services.survey_run_close(run=run["run"], today=opens)
    run["run"].refresh_from_db()
    assert run["run"].status == SurveyRun.Status.OPEN
    assert SealedResponse.objects.count() == 16
    assert Response.objects.count() == 0

    monkeypatch.undo()
    services.survey_run_close(run=run["run"], today=opens)
    assert Response.objects.count() == 16


def test_a_response_has_no_date_or_time():
    kinds = (models.DateField, models.DateTimeField, models.TimeField)
    for model in (Response, Answer, SealedResponse):
        assert not [field.name for field in model._meta.fields if isinstance(field, kinds)]


def test_a_sealed_box_hides_its_length_and_content_and_carries_no_time():
    short = sealing.seal({"comment": "ok"})
    long = sealing.seal({"comment": "a much longer comment about the rota " * 20})
    assert len(short) == len(long)
    assert b"rota" not in long and b"comment" not in long
    assert sealing.seal({"comment": "ok"}) != short  # a fresh nonce every time
    assert sealing.unseal(long)["comment"].startswith("a much longer")


def test_boxes_sealed_before_a_key_rotation_still_open(settings):
    settings.SECRET_KEY = "the-old-key-" + "x" * 40
    box = sealing.seal({"answers": [[1, 5, "", ""]]})
    settings.SECRET_KEY = "the-new-key-" + "y" * 40
    with pytest.raises(sealing.SealBroken):
        sealing.unseal(box)
    settings.SECRET_KEY_FALLBACKS = ["the-old-key-" + "x" * 40]
    assert sealing.unseal(box) == {"answers": [[1, 5, "", ""]]}
