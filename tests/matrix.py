"""The permission matrix's vocabulary, shared by the rows of every app.

Each `Case` is one operation (method + the schema's path template, and for detail paths the
object it is about) with the status every role gets. People rows live in
tests/test_permissions.py, each app's rows in tests/<app>/permission_rows.py; the one
parametrized test and the guards that every schema operation and URL has a row are in
tests/test_permissions.py.

Anonymous requests get 401 with `WWW-Authenticate: Token` (token authentication comes first in
REST_FRAMEWORK, so DRF names its scheme).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cxculture.people import services
from cxculture.people.models import CompanyValue, DirectorySync, Employee, Policy, Team
from tests.factories.people import CompanyValueFactory, PolicyFactory

ROLES = ("anonymous", "employee", "teammate", "outsider", "manager", "hr_admin", "executive")
NOT_SIGNED_IN = 401


def statuses(default: int, *, anonymous: int = NOT_SIGNED_IN, **by_role: int) -> dict[str, int]:
    """The status for every role: `default` unless a role is named; anonymous is refused."""
    unknown = set(by_role) - set(ROLES)
    if unknown:
        raise ValueError(f"Unknown role(s): {sorted(unknown)}")
    return {
        role: anonymous if role == "anonymous" else by_role.get(role, default) for role in ROLES
    }


READ = statuses(200)
HR_ONLY_200 = statuses(403, hr_admin=200)
HR_ONLY_201 = statuses(403, hr_admin=201)


class World:
    """The cast plus the objects some rows are about, made only when a row asks for them."""

    def __init__(self, org: dict[str, Team], cast: dict[str, Employee]):
        self.org = org
        self.cast = cast

    def person(self, role: str) -> Employee | None:
        return None if role == "anonymous" else self.cast[role]

    @cached_property
    def value(self) -> CompanyValue:
        return CompanyValueFactory(name="Own the outcome")

    @cached_property
    def retired_value(self) -> CompanyValue:
        value = CompanyValueFactory(name="Follow the script")
        return services.company_value_update(value=value, is_active=False)

    @cached_property
    def policy(self) -> Policy:
        return PolicyFactory(code="refund-window", owner_team=self.org["support"])

    @cached_property
    def retired_policy(self) -> Policy:
        policy = PolicyFactory(code="no-callbacks")
        return services.policy_update(policy=policy, is_active=False)

    @cached_property
    def sync_waiting(self) -> DirectorySync:
        """An employees sync that would deactivate 5 of 7 people, so it waits for confirmation."""
        rows = [
            {
                "external_id": person.external_id,
                "email": person.user.email,
                "first_name": person.user.first_name,
                "last_name": person.user.last_name,
                "team_external_id": person.team.external_id if person.team else "",
            }
            for person in (self.cast["hr_admin"], self.cast["executive"])
        ]
        sync = services.directory_sync_start(
            kind=DirectorySync.Kind.EMPLOYEES,
            content=services.rows_to_csv(DirectorySync.Kind.EMPLOYEES, rows),
            requested_by=self.cast["hr_admin"].user,
        )
        assert sync.status == DirectorySync.Status.NEEDS_CONFIRMATION
        return sync


Target = Callable[[World], int]
Body = Callable[[World, Employee | None], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # the path template as the OpenAPI schema spells it
    expect: Mapping[str, int]
    target: Target | None = None  # fills `{id}`
    body: Body | None = None
    about: str = ""  # tells rows on the same operation apart

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}" + (f" ({self.about})" if self.about else "")

    def url(self, world: World) -> str:
        if self.target is None:
            return self.path
        return self.path.replace("{id}", str(self.target(world)))


def team_pk(key: str) -> Target:
    return lambda world: world.org[key].pk


def person_pk(role: str) -> Target:
    return lambda world: world.cast[role].pk


def credentials(password: str) -> Body:
    """Sign in as yourself; anonymous visitors use the employee's username."""

    def body(world: World, me: Employee | None) -> dict[str, Any]:
        user = (me or world.cast["employee"]).user
        return {"username": user.get_username(), "password": password}

    return body


def once(name: str, make: Callable[[World], Any]) -> Callable[[World], Any]:
    """The object `make` builds, made on first use in a test and kept on its world."""

    def get(world: World) -> Any:
        cache = world.__dict__.setdefault("_row_objects", {})
        if name not in cache:
            cache[name] = make(world)
        return cache[name]

    return get


def pk_of(getter: Callable[[World], Any]) -> Target:
    """A `target` from a getter of an object: its primary key."""
    return lambda world: getter(world).pk
