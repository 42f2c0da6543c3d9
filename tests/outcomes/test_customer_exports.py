"""Acceptance: a customer's own HR export and helpdesk export load without hand-editing.

The HR file has its own headers and carries its teams (a tree four levels deep) on the people
rows; the mapping is guessed from the headers, sent once and saved by name. The helpdesk file is
a Zendesk satisfaction export with an extra assignee e-mail column, read with the Zendesk preset
and one column overridden; its bad rows are reported with their row numbers.
"""

import csv
import io
import json
from collections import Counter

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from cxculture.outcomes.models import DailyRollup, OutcomeImport, OutcomeImportError, OutcomeRecord
from cxculture.people import services as people_services
from cxculture.people.models import DirectorySource, Employee, Team

HR_HEADER = [
    "Employee Number",
    "Work Email",
    "Preferred Name",
    "Last Name",
    "Org Unit ID",
    "Org Unit",
    "Parent Org Unit ID",
    "People Manager",
    "Customer Facing",
    "Job Title",
    "Start Date",
    "Location",
    "Status",
]
# (id, name, parent): Brightline > Contact Centre > Billing, Tech > Tech L2; > Success > Onboarding
UNITS = [
    ("BL", "Brightline", ""),
    ("BL-CC", "Contact Centre", "BL"),
    ("BL-CC-BIL", "Billing", "BL-CC"),
    ("BL-CC-TEC", "Tech support", "BL-CC"),
    ("BL-CC-TEC-L2", "Tech support L2", "BL-CC-TEC"),
    ("BL-CS", "Customer Success", "BL"),
    ("BL-CS-ONB", "Onboarding", "BL-CS"),
]
AGENTS_PER_TEAM = {"BL-CC-BIL": 8, "BL-CC-TEC": 7, "BL-CC-TEC-L2": 5, "BL-CS-ONB": 6}


def hr_export(hr_admin) -> tuple[bytes, list[dict]]:
    people = [
        {"id": hr_admin.external_id, "email": hr_admin.user.email, "unit": "BL", "manager": "N"},
    ]
    for unit, _, _ in UNITS:  # one manager per unit, then its agents
        people.append(
            {
                "id": f"M-{unit}",
                "email": f"m.{unit.lower()}@bl.example",
                "unit": unit,
                "manager": "Y",
            }
        )
        for n in range(AGENTS_PER_TEAM.get(unit, 0)):
            people.append(
                {
                    "id": f"A-{unit}-{n}",
                    "email": f"a{n}.{unit.lower()}@bl.example",
                    "unit": unit,
                    "manager": "N",
                    "agent": True,
                }
            )
    names = {unit: (name, parent) for unit, name, parent in UNITS}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HR_HEADER)
    for person in people:
        name, parent = names[person["unit"]]
        writer.writerow(
            [
                person["id"],
                person["email"],
                person["id"].title(),
                "Person",
                person["unit"],
                name,
                parent,
                person["manager"],
                "Yes" if person.get("agent") else "No",
                "Agent",
                "2023-04-01",
                "Leeds",
                "Active",
            ]
        )
    return buffer.getvalue().encode(), people


def zendesk_export(agents: list[dict]) -> tuple[bytes, dict[int, str]]:
    """300 ratings; some bad rows, by row number (the header is row 1) and column."""
    header = [
        "id",
        "url",
        "ticket_id",
        "score",
        "comment",
        "reason",
        "assignee_id",
        "group_id",
        "requester_id",
        "created_at",
        "updated_at",
        "assignee_email",
    ]
    bad: dict[int, str] = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for i in range(300):
        agent = agents[i % len(agents)]
        score = "bad" if i % 4 == 0 else "good"
        email = agent["email"]
        created = f"2026-11-{1 + i % 28:02d}T{8 + i % 10:02d}:15:00Z"
        if i in (17, 101, 250):
            score, bad[i + 2] = "offered", "score"
        elif i == 42:
            email, bad[i + 2] = "gone@bl.example", "assignee_email"
        elif i == 199:
            created, bad[i + 2] = "yesterday", "created_at"
        writer.writerow(
            [
                90000 + i,
                "",
                5000 + i,
                score,
                "",
                "",
                700 + i % 9,
                360000 + i % 3,
                8000 + i,
                created,
                created,
                email,
            ]
        )
    return buffer.getvalue().encode(), bad


def test_a_customers_hr_and_helpdesk_exports_load_through_their_mappings(
    api, hr_admin, metrics, django_capture_on_commit_callbacks
):
    # --- The HR export: the mapping guessed from its headers, sent once and saved ------------
    content, people = hr_export(hr_admin)
    mapping = people_services.directory_mapping_guess("employees", HR_HEADER)
    assert mapping == {
        "external_id": "Employee Number",
        "email": "Work Email",
        "first_name": "Preferred Name",
        "last_name": "Last Name",
        "team_external_id": "Org Unit ID",
        "team_name": "Org Unit",
        "parent_team_external_id": "Parent Org Unit ID",
        "is_manager": "People Manager",
        "is_front_line": "Customer Facing",
        "title": "Job Title",
        "hire_date": "Start Date",
        "location": "Location",
    }
    upload = SimpleUploadedFile("hris.csv", content, content_type="text/csv")
    answer = api.as_(hr_admin).post(
        "/api/v1/directory-syncs/",
        {
            "kind": "employees",
            "file": upload,
            "mapping": json.dumps(mapping),
            "save_mapping_as": "HRIS",
            "confirm_deactivation": "true",
        },
        format="multipart",
    )

    assert answer.status_code == 201, answer.json()
    assert len(people) == 34
    assert answer.json()["message"] == (
        "Teams: 7 created, 0 updated, 0 unchanged. People: 33 created, 1 updated, 0 unchanged, "
        "0 deactivated."
    )
    l2 = Team.objects.get(external_id="BL-CC-TEC-L2")
    assert [
        t.name for t in Team.objects.filter(pk__in=l2.path.strip("/").split("/")).order_by("depth")
    ] == ["Brightline", "Contact Centre", "Tech support", "Tech support L2"]
    centre = Team.objects.get(external_id="BL-CC")
    in_centre = Employee.objects.filter(team__path__startswith=centre.path, is_active=True)
    assert in_centre.count() == 4 + 8 + 7 + 5  # four managers and their agents
    assert list(l2.managers.values_list("external_id", flat=True)) == ["M-BL-CC-TEC-L2"]
    assert Employee.objects.filter(is_front_line=True).count() == 26
    assert DirectorySource.objects.get(name="HRIS").mapping == mapping

    # --- The next HR export needs only the saved mapping's name -------------------------------
    moved = content.replace(
        b"A-BL-CC-BIL-0,a0.bl-cc-bil@bl.example,A-Bl-Cc-Bil-0,Person,BL-CC-BIL",
        b"A-BL-CC-BIL-0,a0.bl-cc-bil@bl.example,A-Bl-Cc-Bil-0,Person,BL-CS-ONB",
    )
    moved = moved.replace(b",Billing,BL-CC,N,Yes", b",Onboarding,BL-CS,N,Yes", 1)
    upload = SimpleUploadedFile("hris.csv", moved, content_type="text/csv")
    again = api.as_(hr_admin).post(
        "/api/v1/directory-syncs/",
        {"kind": "employees", "file": upload, "source": "HRIS"},
        format="multipart",
    )
    assert again.status_code == 201, again.json()
    assert Employee.objects.get(external_id="A-BL-CC-BIL-0").team.external_id == "BL-CS-ONB"

    # --- The helpdesk export: Zendesk's preset, the agent from its e-mail column ---------------
    agents = [p for p in people if p.get("agent")]
    ratings, bad = zendesk_export(agents)
    upload = SimpleUploadedFile("zendesk.csv", ratings, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.as_(hr_admin).post(
            "/api/v1/outcome-imports/",
            {
                "file": upload,
                "preset": "zendesk-csat",
                "mapping": json.dumps({"team_external_id": "", "agent": "assignee_email"}),
            },
            format="multipart",
        )

    job = OutcomeImport.objects.get(pk=answer.json()["id"])
    assert (job.status, job.rows_read, job.rows_accepted, job.rows_rejected) == (
        "done",
        300,
        295,
        5,
    )
    errors = dict(OutcomeImportError.objects.filter(job=job).values_list("row", "column"))
    assert errors == bad
    records = OutcomeRecord.objects.filter(import_job=job)
    assert set(records.values_list("source", "metric__code").distinct()) == {("zendesk", "csat")}
    assert Counter(records.values_list("value", flat=True)) == Counter(
        {
            5.0: sum(1 for i in range(300) if i % 4 and i + 2 not in bad),
            1.0: sum(1 for i in range(300) if i % 4 == 0 and i + 2 not in bad),
        }
    )
    # Each rating sits with its agent's team as it is now (the agent moved to Onboarding).
    moved_agent = Employee.objects.get(external_id="A-BL-CC-BIL-0")
    assert set(records.filter(agent=moved_agent).values_list("team__external_id", flat=True)) == {
        "BL-CS-ONB"
    }
    per_team = Counter(records.values_list("team__external_id", flat=True))
    assert sum(per_team.values()) == 295 and set(per_team) == set(AGENTS_PER_TEAM)
    assert DailyRollup.objects.aggregate(n=Sum("count"))["n"] == 295

    # --- The same export again changes nothing -------------------------------------------------
    upload = SimpleUploadedFile("zendesk.csv", ratings, content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        repeat = api.as_(hr_admin).post(
            "/api/v1/outcome-imports/",
            {
                "file": upload,
                "preset": "zendesk-csat",
                "mapping": json.dumps({"team_external_id": "", "agent": "assignee_email"}),
            },
            format="multipart",
        )
    job = OutcomeImport.objects.get(pk=repeat.json()["id"])
    assert (job.rows_accepted, job.duplicates, job.rows_rejected) == (0, 295, 5)
    assert OutcomeRecord.objects.count() == 295
