"""The cast every test can use (STYLE.md): an organisation with two departments.

    Company (root)
    ├── Support (department)          manager: `manager`
    │   ├── Support A                 `employee`, `teammate`
    │   └── Support B                 `outsider`
    └── Sales (department)            `sales_person`

`hr_admin` and `executive` sit in the root team.
"""

import importlib

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from cxculture.celery import app as celery_app
from cxculture.people.models import Role
from surveys.results import run_snapshot_cache_clear
from tests.factories.people import EmployeeFactory, TeamFactory


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Tests run without migrations: on PostgreSQL, install the database functions the code
    calls (the one-statement give of migration recognition 0004, as 0006 left it), as `migrate`
    does."""
    if connection.vendor != "postgresql":
        return
    give = importlib.import_module("recognition.migrations.0006_give_counts_its_rollup_cells")
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(give.FORWARD)


@pytest.fixture(autouse=True)
def _empty_caches():
    """Each test starts with empty caches: SQLite reuses ids after a rollback, so a snapshot
    cached by one test could otherwise answer for another test's run with the same id."""
    cache.clear()
    run_snapshot_cache_clear()


@pytest.fixture
def eager():
    """Tasks run in the calling process, even when the suite has a broker (integration runs)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def org(db):
    root = TeamFactory(name="Company", external_id="ROOT")
    support = TeamFactory(name="Support", external_id="SUP", parent=root)
    support_a = TeamFactory(name="Support A", external_id="SUP-A", parent=support)
    support_b = TeamFactory(name="Support B", external_id="SUP-B", parent=support)
    sales = TeamFactory(name="Sales", external_id="SAL", parent=root)
    return {
        "root": root,
        "support": support,
        "support_a": support_a,
        "support_b": support_b,
        "sales": sales,
    }


@pytest.fixture
def employee(org):
    return EmployeeFactory(first_name="Erin", last_name="Employee", team=org["support_a"])


@pytest.fixture
def teammate(org):
    return EmployeeFactory(first_name="Tom", last_name="Teammate", team=org["support_a"])


@pytest.fixture
def outsider(org):
    return EmployeeFactory(first_name="Olga", last_name="Outsider", team=org["support_b"])


@pytest.fixture
def sales_person(org):
    return EmployeeFactory(first_name="Sam", last_name="Sales", team=org["sales"])


@pytest.fixture
def manager(org):
    return EmployeeFactory(
        first_name="Maya",
        last_name="Manager",
        team=org["support"],
        title="Support manager",
        is_front_line=False,
        manages=[org["support"]],
    )


@pytest.fixture
def hr_admin(org):
    return EmployeeFactory(
        first_name="Hana",
        last_name="HR",
        team=org["root"],
        title="People partner",
        is_front_line=False,
        roles=[Role.HR_ADMIN],
    )


@pytest.fixture
def executive(org):
    return EmployeeFactory(
        first_name="Eddie",
        last_name="Exec",
        team=org["root"],
        title="Chief customer officer",
        is_front_line=False,
        roles=[Role.EXECUTIVE],
    )


@pytest.fixture
def cast(employee, teammate, outsider, sales_person, manager, hr_admin, executive):
    return {
        "employee": employee,
        "teammate": teammate,
        "outsider": outsider,
        "sales_person": sales_person,
        "manager": manager,
        "hr_admin": hr_admin,
        "executive": executive,
    }


@pytest.fixture
def api():
    """An API client; `api.as_(person)` signs in as an Employee (None for anonymous)."""

    class Client(APIClient):
        def as_(self, person):
            self.logout()
            if person is not None:
                self.force_authenticate(user=person.user)
            else:
                self.force_authenticate(user=None)
            return self

    return Client()
