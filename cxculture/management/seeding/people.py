"""The demo organisation: 300 people in 30 teams under 4 departments, values and policies.

Every team gets a latent `health` (0..1) and `trend` (change per month) drawn from a generator
seeded by the team's external id, so every feature's seeder (surveys, recognition, outcomes) can
draw consistent data from the same culture whether the organisation was created now or earlier.
"""

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from cxculture.people import services
from cxculture.people.models import CompanyValue, Employee, Policy, Role, Team

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


def _team_culture(team: Team) -> tuple[float, float]:
    generator = random.Random(f"culture:{team.external_id}")
    return generator.uniform(0.3, 0.9), generator.uniform(-0.03, 0.04)


def _load(today: dt.date, rng: random.Random) -> DemoOrg:
    root = Team.objects.get(external_id=ROOT_EXTERNAL_ID)
    departments = list(Team.objects.filter(parent=root).order_by("id"))
    teams = list(Team.objects.filter(parent__in=departments).order_by("id"))
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
    )
    for team in teams:
        org.team_health[team.pk], org.team_trend[team.pk] = _team_culture(team)
    return org


def _person(rng: random.Random, number: int) -> tuple[str, str, str]:
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number * 7 + number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    email = f"{first}.{last}.{number}@{DOMAIN}".lower()
    return first, last, email


@transaction.atomic
def seed_people(*, rng: random.Random, today: dt.date | None = None) -> tuple[DemoOrg, bool]:
    """Create the demo organisation, or load it when it exists; return it and whether created."""
    today = today or timezone.localdate()
    if Team.objects.filter(external_id=ROOT_EXTERNAL_ID).exists():
        return _load(today, rng), False

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

    values = [
        services.company_value_create(name=name, description=description, position=position)
        for position, (name, description) in enumerate(VALUES)
    ]
    owner = {department.name: department for department in departments}
    policies = [
        services.policy_create(
            name=name,
            code=code,
            owner_team=owner[owner_name],
            description=f"The written rule: {name.lower()}.",
        )
        for code, name, owner_name in POLICIES
    ]
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
    return org, True
