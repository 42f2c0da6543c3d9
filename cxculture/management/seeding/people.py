"""The seeded organisation: values, policies and people in a tree of teams, in two profiles.

- `demo`: 300 people in 30 teams under 4 departments, created through the services.
- `enterprise` (PostgreSQL): 20,000 people in 2,000 teams in a 4-level tree (company >
  divisions > departments > teams), written with COPY; `--scale` multiplies people and teams.

Both have the same sign-ins (SIGN_INS). Every team gets a latent `health` (0..1) and `trend`
(change per month) drawn from a generator seeded by the team's external id, so every feature's
seeder (surveys, recognition, outcomes) can draw consistent data from the same culture whether
the organisation was created now or earlier.
"""

import datetime as dt
import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import get_random_string

from cxculture.people import services
from cxculture.people.models import CompanyValue, Employee, Policy, Role, Team

from .bulk import IdBlock, Rows

ROOT_EXTERNAL_ID = "DEMO-ROOT"
DEMO_PASSWORD = "cxculture-demo"  # noqa: S105 - the published demo password
DOMAIN = "example.com"

# (department name, team names) — 30 teams under 4 departments.
DEPARTMENTS = [
    (
        "Contact Centre",
        [
            "Billing",
            "Orders",
            "Returns",
            "Technical",
            "Priority",
            "Chat",
            "Social",
            "Night shift",
            "Onboarding",
            "Escalations",
        ],
    ),
    (
        "Customer Success",
        [
            "Enterprise",
            "Mid-market",
            "Small business",
            "Renewals",
            "Adoption",
            "Community",
            "Education",
        ],
    ),
    ("Field Service", ["North", "South", "East", "West", "Installations", "Repairs", "Dispatch"]),
    (
        "Retail Stores",
        [
            "Leeds store",
            "Manchester store",
            "Glasgow store",
            "Cardiff store",
            "Bristol store",
            "Online store",
        ],
    ),
]
ROLE_FAMILY = {
    "Contact Centre": "Support",
    "Customer Success": "Success",
    "Field Service": "Field",
    "Retail Stores": "Retail",
}
LOCATIONS = ["Leeds", "Manchester", "Glasgow", "Cardiff", "Bristol"]
HEAD_OFFICE = "Leeds"
FIRST_NAMES = [
    "Aisha",
    "Ben",
    "Chloe",
    "Dev",
    "Ella",
    "Finn",
    "Grace",
    "Hamza",
    "Isla",
    "Jack",
    "Kira",
    "Leo",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Xena",
    "Yusuf",
    "Zoe",
    "Amir",
    "Bella",
    "Callum",
    "Daisy",
    "Ethan",
    "Freya",
    "George",
    "Hannah",
    "Ivan",
    "Jade",
    "Kai",
    "Lily",
    "Mason",
    "Nina",
]
LAST_NAMES = [
    "Patel",
    "Smith",
    "Jones",
    "Khan",
    "Williams",
    "Brown",
    "Taylor",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Ali",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Clarke",
    "Lewis",
    "Scott",
    "Young",
    "Murphy",
    "Kaur",
    "Singh",
    "Price",
]
VALUES = [
    ("Customer first", "We start from what the customer needs, then find the way."),
    ("Say yes", "We look for the yes, and bend a rule when it is right for the customer."),
    ("Own it", "We see problems through to the end, even when they are not ours."),
    ("Better together", "We help each other across teams."),
    ("Keep learning", "We coach, share what works and get better every week."),
]
POLICIES = [
    ("refund-30-days", "Refunds within 30 days only", "Customer Success"),
    ("receipt-required", "No refund without a receipt", "Retail Stores"),
    ("one-replacement", "One free replacement per order", "Contact Centre"),
    ("delivery-fee", "Delivery fees are not waived", "Field Service"),
    ("credit-approval", "Account credit needs a supervisor", "Contact Centre"),
    ("callback-window", "Callbacks only within opening hours", "Contact Centre"),
    ("price-match", "No price matching", "Retail Stores"),
]
# The sign-ins the README lists: one per role.
SIGN_INS = {
    Role.HR_ADMIN: ("hr@example.com", "Hana", "Okafor", "People partner"),
    Role.EXECUTIVE: ("ceo@example.com", "Evelyn", "Marsh", "Chief executive"),
    Role.MANAGER: ("manager@example.com", "Marcus", "Reid", "Team manager"),
    Role.EMPLOYEE: ("agent@example.com", "Alex", "Rivera", "Customer service agent"),
}


@dataclass(frozen=True)
class Profile:
    """How big the seeded organisation is and how much history each feature gets."""

    name: str
    root_external_id: str
    people: int
    teams: int
    history_runs: int  # closed fortnightly pulse runs before the one open now
    recognitions: int | None  # a year of them; None: the culture's own rate (the demo's)
    outcome_records: int
    reactions_per_recognition: float
    bulk: bool  # rows by COPY (PostgreSQL only) rather than through the services
    scale: float = 1.0


DEMO = Profile(
    name="demo",
    root_external_id=ROOT_EXTERNAL_ID,
    people=300,
    teams=30,
    history_runs=24,
    recognitions=None,
    outcome_records=200_000,
    reactions_per_recognition=2.5,
    bulk=False,
)
ENTERPRISE = Profile(
    name="enterprise",
    root_external_id="ENT-ROOT",
    people=20_000,
    teams=2_000,
    history_runs=24,
    recognitions=1_000_000,
    outcome_records=5_000_000,
    reactions_per_recognition=0.6,
    bulk=True,
)
PROFILES = {profile.name: profile for profile in (DEMO, ENTERPRISE)}


def scaled(profile: Profile, scale: float) -> Profile:
    """The profile with people, teams and rows multiplied by `scale` (runs stay as they are)."""
    if scale == 1:
        return profile

    def times(number: int) -> int:
        return max(1, round(number * scale))

    return Profile(
        name=profile.name,
        root_external_id=profile.root_external_id,
        people=times(profile.people),
        teams=times(profile.teams),
        history_runs=profile.history_runs,
        recognitions=None if profile.recognitions is None else times(profile.recognitions),
        outcome_records=times(profile.outcome_records),
        reactions_per_recognition=profile.reactions_per_recognition,
        bulk=profile.bulk,
        scale=scale,
    )


@dataclass
class DemoOrg:
    root: Team
    departments: list[Team]
    teams: list[Team]
    employees: list[Employee]
    managers: dict[int, Employee]
    hr_admin: Employee
    executive: Employee
    values: list[CompanyValue]
    policies: list[Policy]
    today: dt.date
    rng: random.Random = field(repr=False)
    team_health: dict[int, float] = field(default_factory=dict)
    team_trend: dict[int, float] = field(default_factory=dict)
    profile: Profile = DEMO


def _team_culture(team: Team) -> tuple[float, float]:
    generator = random.Random(f"culture:{team.external_id}")
    return generator.uniform(0.3, 0.9), generator.uniform(-0.03, 0.04)


def _load(today: dt.date, rng: random.Random, profile: Profile = DEMO) -> DemoOrg:
    root = Team.objects.get(external_id=profile.root_external_id)
    departments = list(Team.objects.filter(parent=root).order_by("id"))
    # The teams people work in are the leaves: two levels down in the demo, three in enterprise.
    leaf_depth = root.depth + (3 if profile.bulk else 2)
    teams = list(Team.objects.filter(path__startswith=root.path, depth=leaf_depth).order_by("id"))
    employees = list(
        Employee.objects.filter(team__path__startswith=root.path)
        .select_related("user", "team")
        .order_by("id")
    )
    managers = {}
    for team in Team.objects.filter(pk__in=[t.pk for t in teams]).prefetch_related(
        "managers__user"
    ):
        first = next(iter(team.managers.all()), None)
        if first is not None:
            managers[team.pk] = first
    by_email = {employee.user.email: employee for employee in employees}
    org = DemoOrg(
        root=root,
        departments=departments,
        teams=teams,
        employees=employees,
        managers=managers,
        hr_admin=by_email[SIGN_INS[Role.HR_ADMIN][0]],
        executive=by_email[SIGN_INS[Role.EXECUTIVE][0]],
        values=list(CompanyValue.objects.order_by("position")),
        policies=list(Policy.objects.order_by("id")),
        today=today,
        rng=rng,
        profile=profile,
    )
    for team in teams:
        org.team_health[team.pk], org.team_trend[team.pk] = _team_culture(team)
    _hr_is_staff()
    return org


def _hr_is_staff() -> None:
    # The HR admin sign-in manages dead letters and other records in /admin/.
    User.objects.filter(email=SIGN_INS[Role.HR_ADMIN][0]).update(is_staff=True)


def _person(rng: random.Random, number: int) -> tuple[str, str, str]:
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number * 7 + number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    email = f"{first}.{last}.{number}@{DOMAIN}".lower()
    return first, last, email


@transaction.atomic
def seed_people(
    *, rng: random.Random, today: dt.date | None = None, profile: Profile = DEMO
) -> tuple[DemoOrg, bool]:
    """Create the organisation, or load it when it exists; return it and whether created."""
    today = today or timezone.localdate()
    if Team.objects.filter(external_id=profile.root_external_id).exists():
        return _load(today, rng, profile), False
    if profile.bulk:
        _seed_people_in_bulk(rng=rng, today=today, profile=profile)
        return _load(today, rng, profile), True

    root = services.team_create(name="Brightline", external_id=ROOT_EXTERNAL_ID)
    departments: list[Team] = []
    teams: list[Team] = []
    for d_index, (department_name, team_names) in enumerate(DEPARTMENTS, start=1):
        department = services.team_create(
            name=department_name, external_id=f"DEMO-D{d_index}", parent=root
        )
        departments.append(department)
        for t_index, team_name in enumerate(team_names, start=1):
            teams.append(
                services.team_create(
                    name=f"{team_name}",
                    external_id=f"DEMO-D{d_index}-T{t_index:02d}",
                    parent=department,
                )
            )

    def hire_date(max_years: float) -> dt.date:
        return today - dt.timedelta(days=int(rng.uniform(30, 365 * max_years)))

    # People work where their team sits (a few remotely), so location breakdowns line up with
    # teams the way they do in a real organisation.
    team_location = {team.pk: LOCATIONS[index % len(LOCATIONS)] for index, team in enumerate(teams)}

    def location_of(team: Team) -> str:
        if team.pk not in team_location:
            return HEAD_OFFICE
        return "Remote" if rng.random() < 0.08 else team_location[team.pk]

    number = 0

    def create(
        team: Team,
        *,
        title: str,
        front_line: bool,
        role_family: str,
        sign_in: tuple[str, str, str, str] | None = None,
    ) -> Employee:
        nonlocal number
        number += 1
        if sign_in:
            email, first, last, title = sign_in
            password: str | None = DEMO_PASSWORD
        else:
            first, last, email = _person(rng, number)
            password = None
        return services.employee_create(
            email=email,
            first_name=first,
            last_name=last,
            external_id=f"DEMO-E{number:05d}",
            team=team,
            title=title,
            role_family=role_family,
            location=location_of(team),
            hire_date=hire_date(9),
            is_front_line=front_line,
            password=password,
        )

    employees: list[Employee] = []
    executive = create(
        root, title="", front_line=False, role_family="Leadership", sign_in=SIGN_INS[Role.EXECUTIVE]
    )
    hr_admin = create(
        root, title="", front_line=False, role_family="People", sign_in=SIGN_INS[Role.HR_ADMIN]
    )
    services.employee_set_roles(employee=executive, roles=[Role.EXECUTIVE])
    services.employee_set_roles(employee=hr_admin, roles=[Role.HR_ADMIN])
    employees += [executive, hr_admin]
    employees.append(
        create(root, title="Finance director", front_line=False, role_family="Leadership")
    )
    employees.append(create(root, title="People analyst", front_line=False, role_family="People"))
    for department in departments:
        head = create(
            department,
            title=f"Head of {department.name}",
            front_line=False,
            role_family="Leadership",
        )
        services.team_set_managers(team=department, managers=[head])
        employees.append(head)

    # 292 people across 30 teams: 22 teams of 10 and 8 of 9, the first of each its manager.
    managers: dict[int, Employee] = {}
    for index, team in enumerate(teams):
        department = next(d for d in departments if d.pk == team.parent_id)
        family = ROLE_FAMILY[department.name]
        size = 10 if index < 22 else 9
        for member in range(size):
            if member == 0:
                sign_in = SIGN_INS[Role.MANAGER] if index == 0 else None
                person = create(
                    team,
                    title="Team manager",
                    front_line=False,
                    role_family=family,
                    sign_in=sign_in,
                )
                services.team_set_managers(team=team, managers=[person])
                managers[team.pk] = person
            else:
                sign_in = SIGN_INS[Role.EMPLOYEE] if index == 0 and member == 1 else None
                title = {
                    "Support": "Customer service agent",
                    "Success": "Customer success manager",
                    "Field": "Field engineer",
                    "Retail": "Store associate",
                }[family]
                person = create(
                    team, title=title, front_line=True, role_family=family, sign_in=sign_in
                )
            employees.append(person)

    values, policies = _values_and_policies(departments)
    org = DemoOrg(
        root=root,
        departments=departments,
        teams=teams,
        employees=employees,
        managers=managers,
        hr_admin=hr_admin,
        executive=executive,
        values=values,
        policies=policies,
        today=today,
        rng=rng,
    )
    for team in teams:
        org.team_health[team.pk], org.team_trend[team.pk] = _team_culture(team)
    _hr_is_staff()
    return org, True


def _values_and_policies(units: list[Team]) -> tuple[list[CompanyValue], list[Policy]]:
    values = [
        services.company_value_create(name=name, description=description, position=position)
        for position, (name, description) in enumerate(VALUES)
    ]
    owner = {unit.name: unit for unit in units}
    policies = [
        services.policy_create(
            name=name,
            code=code,
            owner_team=owner.get(owner_name),
            description=f"The written rule: {name.lower()}.",
        )
        for code, name, owner_name in POLICIES
    ]
    return values, policies


# --- Enterprise: the same kind of organisation, written in bulk -------------------------------

MORE_DIVISIONS = [
    ("Sales", "Sales", "Account executive"),
    ("Operations", "Operations", "Operations specialist"),
    ("Digital", "Digital", "Digital support specialist"),
    ("Shared Services", "Back office", "Case handler"),
]
TITLES = {
    "Support": "Customer service agent",
    "Success": "Customer success manager",
    "Field": "Field engineer",
    "Retail": "Store associate",
}
REGIONS = [
    "North",
    "South",
    "East",
    "West",
    "Central",
    "Scotland",
    "Wales",
    "Midlands",
    "London",
    "Ireland",
]


def _divisions() -> list[tuple[str, str, str, list[str]]]:
    """(name, role family, front-line title, team names) of each division, demo ones first."""
    divisions = [
        (name, ROLE_FAMILY[name], TITLES[ROLE_FAMILY[name]], team_names)
        for name, team_names in DEPARTMENTS
    ]
    for name, family, title in MORE_DIVISIONS:
        divisions.append((name, family, title, [f"{name} squad"]))
    return divisions


def _seed_people_in_bulk(*, rng: random.Random, today: dt.date, profile: Profile) -> None:
    """Write the enterprise tree and its people with COPY, in one transaction.

    Company > divisions > departments > teams; every team's first member manages it and each
    division and department has a head. The sign-ins are the demo's (hr@, ceo@, manager@ of the
    first team, agent@ in it), so the benchmark signs in the same way at any size.
    """
    now = timezone.now()
    prefix = profile.root_external_id.removesuffix("-ROOT")
    n_teams = profile.teams
    n_divisions = min(8, max(2, round(n_teams / 250)))
    n_departments = max(n_divisions, round(n_teams / 40))
    groups = {role: Group.objects.get_or_create(name=role)[0].pk for role in Role}

    team_ids = IdBlock(Team)
    team_rows = Rows(
        Team,
        [
            "id",
            "name",
            "external_id",
            "parent_id",
            "path",
            "depth",
            "is_active",
            "created_at",
            "updated_at",
        ],
    )

    def team(name: str, external_id: str, parent: tuple[int, str, int] | None) -> tuple:
        pk = team_ids.take()
        path = f"{parent[1] if parent else '/'}{pk}/"
        depth = parent[2] + 1 if parent else 0
        parent_pk = parent[0] if parent else None
        team_rows.add(pk, name, external_id, parent_pk, path, depth, True, now, now)
        return pk, path, depth

    root = team("Brightline Group", profile.root_external_id, None)
    catalogue = _divisions()
    divisions = [
        (team(catalogue[i][0], f"{prefix}-V{i + 1}", root), catalogue[i])
        for i in range(n_divisions)
    ]
    departments = []
    for index in range(n_departments):
        division, info = divisions[index % n_divisions]
        number = index // n_divisions
        region = REGIONS[number % len(REGIONS)] + (
            f" {number // len(REGIONS) + 1}" if number >= len(REGIONS) else ""
        )
        external_id = f"{prefix}-V{index % n_divisions + 1}-D{number + 1:02d}"
        departments.append((team(f"{info[0]} {region}", external_id, division), info))
    leaves = []
    for index in range(n_teams):
        department, info = departments[index % n_departments]
        base = info[3][(index // n_departments) % len(info[3])]
        leaves.append((team(f"{base} {index + 1}", f"{prefix}-T{index + 1:05d}", department), info))
    team_rows.flush()
    team_ids.sync()

    user_ids, employee_ids = IdBlock(User), IdBlock(Employee)
    users = Rows(
        User,
        [
            "id",
            "password",
            "last_login",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
        ],
    )
    employees = Rows(
        Employee,
        [
            "id",
            "user_id",
            "external_id",
            "team_id",
            "title",
            "role_family",
            "location",
            "hire_date",
            "is_front_line",
            "is_active",
            "created_at",
            "updated_at",
        ],
    )
    memberships = Rows(User.groups.through, ["user_id", "group_id"])
    managing = Rows(Team.managers.through, ["team_id", "employee_id"])
    demo_password = make_password(DEMO_PASSWORD)
    number = 0

    def person(
        team_pk: int,
        *,
        title: str,
        family: str,
        location: str,
        front_line: bool,
        roles: tuple[Role, ...] = (),
        sign_in: tuple[str, str, str, str] | None = None,
    ) -> int:
        nonlocal number
        number += 1
        if sign_in:
            email, first, last, title = sign_in
            password = demo_password
        else:
            first, last, email = _person(rng, number)
            password = "!" + get_random_string(40)  # unusable, as set_unusable_password makes
        user_pk, employee_pk = user_ids.take(), employee_ids.take()
        staff = sign_in is not None and Role.HR_ADMIN in roles
        users.add(user_pk, password, None, False, email, first, last, email, staff, True, now)
        hired = today - dt.timedelta(days=int(rng.uniform(30, 365 * 9)))
        employees.add(
            employee_pk,
            user_pk,
            f"{prefix}-E{number:06d}",
            team_pk,
            title,
            family,
            location,
            hired,
            front_line,
            True,
            now,
            now,
        )
        for role in (Role.EMPLOYEE, *roles):
            memberships.add(user_pk, groups[role])
        return employee_pk

    for title, family, role in (
        ("", "Leadership", Role.EXECUTIVE),
        ("", "People", Role.HR_ADMIN),
        ("Finance director", "Leadership", None),
        ("People analyst", "People", None),
    ):
        person(
            root[0],
            title=title,
            family=family,
            location=HEAD_OFFICE,
            front_line=False,
            roles=(role,) if role else (),
            sign_in=SIGN_INS[role] if role else None,
        )
    for unit, info in [*divisions, *departments]:
        head = person(
            unit[0],
            title=f"Head of {info[0]}",
            family="Leadership",
            location=HEAD_OFFICE,
            front_line=False,
            roles=(Role.MANAGER,),
        )
        managing.add(unit[0], head)
    remaining = max(2 * n_teams, profile.people - number)
    size, extra = divmod(remaining, n_teams)
    for index, (leaf, info) in enumerate(leaves):
        home = LOCATIONS[index % len(LOCATIONS)]
        for member in range(size + (1 if index < extra else 0)):
            location = "Remote" if rng.random() < 0.08 else home
            if member == 0:
                manager = person(
                    leaf[0],
                    title="Team manager",
                    family=info[1],
                    location=location,
                    front_line=False,
                    roles=(Role.MANAGER,),
                    sign_in=SIGN_INS[Role.MANAGER] if index == 0 else None,
                )
                managing.add(leaf[0], manager)
            else:
                person(
                    leaf[0],
                    title=info[2],
                    family=info[1],
                    location=location,
                    front_line=True,
                    sign_in=SIGN_INS[Role.EMPLOYEE] if index == 0 and member == 1 else None,
                )
    for rows in (users, employees, memberships, managing):
        rows.flush()
    for block in (user_ids, employee_ids):
        block.sync()
    _values_and_policies(list(Team.objects.filter(depth=root[2] + 1, path__startswith=root[1])))
