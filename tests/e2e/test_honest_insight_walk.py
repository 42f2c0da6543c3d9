"""Every insight page on the realistic organisation (`tests/insights/realistic_org.py`), in a
real browser at 390 px, as HR and as the manager of a 3-person team: no survey figure from
fewer than 5 people, "not enough data" where the minimum-n rules say so, n beside figures, the
linkage's r with n, CI and p for a chosen period, no console error, nothing scrolling sideways.
"""

import re

import pytest
import time_machine

from tests.e2e.conftest import PHONE
from tests.helpers import PASSWORD
from tests.insights.realistic_org import NOW, PERIOD, TINY, build_realistic_org

pytestmark = pytest.mark.django_db(transaction=True)

HIDDEN = "Hidden to protect anonymity"
PERCENT = re.compile(r"\d+(\.\d)?\s?%")
# A survey figure's n under the threshold of 5: "n = 3 answers".
SMALL_N = re.compile(r"n = [1-4] answers?\b")


@pytest.fixture(autouse=True)
def april(settings):
    """The server lives on 20 April 2026, a month after the runs, so the pages' default
    periods hold the outcome history. The browser keeps the real date: the session cookie
    lasts long enough not to look expired to it."""
    settings.SESSION_COOKIE_AGE = 20 * 365 * 24 * 3600
    with time_machine.travel(NOW, tick=True):
        yield


def text(session) -> str:
    """What the page shows, folded tables ("As a table") included."""
    return " ".join(session.page.locator("main").text_content().split())


def rows_naming(session, name: str) -> list[str]:
    """Every table row (cells joined by " | ") and list item naming the team, shown or
    folded."""
    rows = session.page.evaluate(
        """() => Array.from(document.querySelectorAll('main tr, main li')).map((row) => {
            const cells = Array.from(row.querySelectorAll('th, td'));
            const parts = cells.length ? cells.map((c) => c.textContent) : [row.textContent];
            return parts.map((part) => part.trim().split(/\\s+/).join(' ')).join(' | ');
        })"""
    )
    return [row for row in rows if re.search(rf"(^|[ |]){re.escape(name)}($|[ |])", row)]


def assert_no_small_figures(session, world) -> None:
    """No survey figure of a tiny team (rows naming it carry no number), none with n < 5."""
    body = text(session)
    assert not SMALL_N.search(body), (session.page.url, SMALL_N.search(body))
    for code in TINY:
        for row in rows_naming(session, world.teams[code].name):
            # A headcount from the directory is no survey figure.
            survey_part = re.sub(r"\b\d+ (people|person)\b", "", row)
            assert not re.search(r"\d", survey_part), (session.page.url, row)


def visit(session, world, path: str, name: str) -> str:
    response = session.go(path)
    assert response.status == 200, (path, response.status)
    session.shows(name)
    assert_no_small_figures(session, world)
    return text(session)


def test_hr_walks_every_insight_page_on_a_phone(open_session):
    world = build_realistic_org()
    pulse, trial = world.pulse_run, world.trial_run
    phone = open_session(PHONE)
    phone.sign_in(world.hr_admin.user.email, PASSWORD)

    home = visit(phone, world, "/", "walk-hr-home")
    assert "Pulse" in home

    # The organisation's results: the pulse, not the later test programme; n beside figures.
    results = visit(phone, world, f"/surveys/runs/{pulse.pk}/results/", "walk-hr-results")
    assert re.search(r"n = \d{2,} answers", results)
    north = rows_naming(phone, "Phones North")  # its heatmap row: 11 respondents, 82
    assert north == ["Phones North | 11 | 82 | —"]
    for code in TINY:
        team = world.teams[code]
        page = visit(
            phone, world, f"/surveys/runs/{pulse.pk}/results/?subtree={team.pk}", f"walk-hr-{code}"
        )
        assert HIDDEN in page and not PERCENT.search(page.split("Trend")[0])
    chat = visit(
        phone,
        world,
        f"/surveys/runs/{pulse.pk}/results/?subtree={world.teams['CS-CH'].pk}",
        "walk-hr-unanimous",
    )
    assert HIDDEN in chat  # six people, all favourable, nobody silent
    visit(phone, world, f"/surveys/runs/{trial.pk}/results/", "walk-hr-trial")

    culture = visit(phone, world, "/insights/culture/?months=12", "walk-hr-culture")
    assert "Action follow-through" in culture
    assert re.search(r"\(n = \d+\)", culture)  # outcomes per month carry their n
    department = visit(
        phone,
        world,
        f"/insights/culture/?months=12&department={world.teams['CS'].pk}",
        "walk-hr-culture-cs",
    )
    assert "Customer Service" in department

    linkage = visit(
        phone,
        world,
        f"/insights/linkage/?run={pulse.pk}&metric=csat"
        f"&outcome_from={PERIOD[0]}&outcome_to={PERIOD[1]}",
        "walk-hr-linkage",
    )
    assert re.search(r"Pearson r, 95% CI -?\d\.\d\d to -?\d\.\d\d, p [=<] ?[\d.]+", linkage)
    assert re.search(r"Spearman rho, 95% CI -?\d\.\d\d to -?\d\.\d\d, p [=<] ?[\d.]+", linkage)
    assert re.search(r"(^|\D)5 ?teams \(n\)", linkage)
    assert phone.page.locator("#id_outcome_from").input_value() == str(PERIOD[0])
    for code in (*TINY, "CS-CH"):
        assert rows_naming(phone, world.teams[code].name) == []
    # Each point with its n: 6 of 7 agreed is 86 (not 86.0), beside 7 responses and the
    # period's CSAT records.
    (email,) = rows_naming(phone, "Email & Letters")
    assert re.fullmatch(r"Email & Letters \| 86 \| \d\.\d\d \| 7 \| \d{2,}", email), email

    saying_yes = visit(
        phone, world, "/insights/exceptions/?since=2026-01-01&until=2026-12-31", "walk-hr-yes"
    )
    assert rows_naming(phone, "Refund window") and "not enough data" in " ".join(
        rows_naming(phone, "Refund window")
    )
    assert "yes-group did better" not in saying_yes.replace("“Yes-group did better”", "")
    policies = visit(phone, world, "/recognition/policies/", "walk-hr-policies")
    assert "revisit this policy" not in policies
    # Money with its currency, here as on the insight pages.
    (refunds,) = rows_naming(phone, "Refund window")
    assert refunds.startswith("Refund window | 3 | 37.50 GBP | 3 | 0 | 0 | 0"), refunds
    with phone.page.expect_navigation():
        phone.page.get_by_role("link", name="Refund window").click()
    phone.shows("walk-hr-policy")
    assert "37.50 GBP" in text(phone) and "12.50 GBP" in text(phone)
    phone.finish()


def test_the_manager_of_a_three_person_team_walks_their_insight_pages(open_session):
    world = build_realistic_org()
    team = world.teams["CS-ES"]
    phone = open_session(PHONE)
    phone.sign_in(world.tiny_manager.user.email, PASSWORD)

    home = visit(phone, world, "/", "walk-tiny-home")
    assert HIDDEN in home  # their team's latest results
    assert re.search(r"\(n = \d+\)", home)  # their team's customer outcomes, with n

    results = visit(
        phone, world, f"/surveys/runs/{world.pulse_run.pk}/results/", "walk-tiny-results"
    )
    assert HIDDEN in results
    trial = visit(phone, world, f"/surveys/runs/{world.trial_run.pk}/results/", "walk-tiny-trial")
    assert HIDDEN in trial

    culture = visit(phone, world, "/insights/culture/?months=12", "walk-tiny-culture")
    # Their team's trend, participation and row of drivers: hidden, with the one reason every
    # hidden figure gives (a reason of its own would tell which group is small).
    assert rows_naming(phone, "Pulse #1") == [
        f"Pulse #1 | 8 Mar 2026 | {HIDDEN}",
        f"Pulse #1 | {HIDDEN}",
    ]
    assert rows_naming(phone, team.name) == [f"{team.name} | {HIDDEN}"]
    assert "too few" not in culture
    linkage = visit(
        phone,
        world,
        f"/insights/linkage/?run={world.pulse_run.pk}&metric=csat"
        f"&outcome_from={PERIOD[0]}&outcome_to={PERIOD[1]}",
        "walk-tiny-linkage",
    )
    # None of their teams is shown (Escalations has 3 people): no correlation anywhere.
    assert "Pearson r," not in linkage
    assert "Customer satisfaction (CSAT), mean | 0 | hidden: fewer than 5 teams" in rows_naming(
        phone, "hidden: fewer than 5 teams"
    )
    saying_yes = visit(
        phone, world, "/insights/exceptions/?since=2026-01-01&until=2026-12-31", "walk-tiny-yes"
    )
    assert "No exceptions in this period." in saying_yes  # none in the teams they lead
    visit(phone, world, "/recognition/policies/", "walk-tiny-policies")
    visit(phone, world, f"/actions/team/{team.pk}/", "walk-tiny-actions")
    phone.finish()
