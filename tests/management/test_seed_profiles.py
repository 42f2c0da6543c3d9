"""`seed_demo --profile enterprise` at a small scale (PostgreSQL): the counts in proportion to
the full profile, balanced books, and pages that show numbers; it refuses SQLite. And the demo
profile's sign-ins: the HR admin may use /admin/."""

import io
import random

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Sum
from django.utils.html import escape

from cxculture.management.seeding.people import seed_people
from cxculture.outcomes.models import DailyRollup, OutcomeRecord
from cxculture.people.models import Employee, Team
from recognition.models import Account, LedgerEntry, Recognition, RecognitionReceiver
from recognition.selectors import ledger_problems
from surveys.models import Answer, Invitation, Response, SealedResponse, SurveyRun
from tests.factories.surveys import load_question_library

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"
)
SCALE = 0.01  # 200 people in 20 teams: a hundredth of the enterprise profile


@pytest.fixture
def enterprise(db):
    load_question_library()
    call_command("seed_demo", profile="enterprise", scale=SCALE, stdout=io.StringIO())


def _near(count: int, full_size: int, tolerance: float = 0.15) -> bool:
    expected = full_size * SCALE
    return expected * (1 - tolerance) <= count <= expected * (1 + tolerance)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="checks the refusal elsewhere")
def test_the_enterprise_profile_refuses_sqlite(db):
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("seed_demo", profile="enterprise", scale=SCALE)

    assert not Team.objects.exists()


@pytest.mark.postgres
@on_postgresql
def test_the_enterprise_profile_seeds_the_design_sizes_in_proportion(enterprise):
    assert Employee.objects.count() == 200
    root = Team.objects.get(external_id="ENT-ROOT")
    assert Team.objects.filter(depth=3).count() == 20  # company > divisions > departments > teams
    assert Team.objects.filter(depth=1).count() >= 2
    assert Team.objects.filter(path__startswith=root.path).count() == Team.objects.count()
    assert SurveyRun.objects.filter(status="closed").count() == 24
    assert SurveyRun.objects.filter(status="open").count() == 1
    assert _near(Answer.objects.count(), 3_000_000, tolerance=0.25)
    assert _near(Recognition.objects.count(), 1_000_000)
    assert _near(OutcomeRecord.objects.count(), 5_000_000, tolerance=0.05)
    # Participation and results count the same people: one response per answered invitation.
    for run in SurveyRun.objects.all():
        answered = Invitation.objects.filter(run=run, responded_on__isnull=False).count()
        stored = Response if run.status == "closed" else SealedResponse
        assert stored.objects.filter(run=run).count() == answered
    assert RecognitionReceiver.objects.count() >= Recognition.objects.count()
    rolled = DailyRollup.objects.aggregate(n=Sum("count"))["n"]
    assert rolled == OutcomeRecord.objects.count()
    # The books balance (the ledger triggers checked every transaction at commit too).
    assert ledger_problems() == []
    assert LedgerEntry.objects.aggregate(total=Sum("amount"))["total"] == 0
    wallets = Account.objects.filter(kind="wallet").aggregate(total=Sum("balance"))["total"]
    assert wallets > 0
    # Running it again adds nothing.
    counts = (Employee.objects.count(), Answer.objects.count(), Recognition.objects.count())
    call_command("seed_demo", profile="enterprise", scale=SCALE, stdout=io.StringIO())
    assert (Employee.objects.count(), Answer.objects.count(), Recognition.objects.count()) == counts


@pytest.mark.postgres
@on_postgresql
def test_the_enterprise_sign_ins_see_pages_with_numbers(client, enterprise):
    hr = User.objects.get(email="hr@example.com")
    assert hr.is_staff
    assert User.objects.get(email="manager@example.com").groups.filter(name="manager").exists()
    run = SurveyRun.objects.filter(status="closed").order_by("-closes_on").first()

    client.force_login(hr)
    results = client.get(f"/surveys/runs/{run.pk}/results/")
    culture = client.get("/insights/culture/")
    feed = client.get("/recognition/")
    admin = client.get("/admin/")

    rows = results.context["results"]["heatmap"]["rows"]
    assert any(row["engagement_index"] is not None for row in rows)
    trend = culture.context["data"]["trend"]
    assert len(trend) >= 2 and any(point["engagement_index"] is not None for point in trend)
    assert feed.status_code == 200
    newest = (
        Recognition.objects.filter(reversed_at__isnull=True).order_by("-created_at", "-id").first()
    )  # the seed reverses a few recognitions, and the feed leaves those out
    assert escape(newest.message) in feed.content.decode()  # "let's" is "let&#x27;s" in HTML
    assert admin.status_code == 200
    # Engagement goes with customer satisfaction, as in the demo.
    client.force_login(User.objects.get(email="ceo@example.com"))
    data = client.get("/insights/linkage/", {"metric": "csat", "window": "same"}).context["data"]
    assert data["linkage"]["shown"] is True and data["linkage"]["n"] >= 5
    assert data["linkage"]["pearson"]["r"] > 0


def test_the_demo_hr_admin_may_use_the_admin_site(db):
    org, created = seed_people(rng=random.Random(1))

    assert created
    assert User.objects.get(email="hr@example.com").is_staff
    assert not User.objects.get(email="manager@example.com").is_staff
    assert org.hr_admin.user.email == "hr@example.com"
