"""HR's survey pages issue as many queries with many questions, drivers and teams as with few."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys import services
from tests.factories.people import EmployeeFactory, TeamFactory
from tests.factories.surveys import ProgramFactory, question


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def grow(size: int, org) -> None:
    for number in range(size):
        driver = services.custom_driver_create(label=f"Driver {size}-{number}")
        services.question_create(text=f"Question {size}-{number}", driver=driver.code)
        team = TeamFactory(name=f"Team {size}-{number}", parent=org["support"])
        EmployeeFactory(team=team)


def test_the_question_library_and_program_pages_hold_their_query_count(client, hr_admin, org):
    client.force_login(hr_admin.user)
    program = ProgramFactory(
        audience="subtrees", teams=[org["support"]], questions=[question("enps")]
    )
    pages = ["/surveys/questions/", "/surveys/programs/new/", f"/surveys/programs/{program.pk}/"]
    pages.append(f"/surveys/programs/{program.pk}/edit/")
    grow(2, org)
    small = [queries(client, page) for page in pages]
    grow(20, org)
    large = [queries(client, page) for page in pages]
    assert large == small
    assert max(large) <= 15
