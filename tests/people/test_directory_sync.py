"""Directory sync: employees and teams from a CSV file or JSON rows, all or nothing.

Every rejection is checked through the three ways HR can send a file (the service, the API and
the upload page), and "nothing written" means the users, employees, teams, team managers and
group memberships are exactly as they were, row for row.
"""

import csv
import datetime as dt
import io
import re

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import HttpRequest
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from cxculture.people import services
from cxculture.people.models import DirectorySync, Employee, Role, Team
from tests.factories.people import EmployeeFactory

URL = "/api/v1/directory-syncs/"
PAGE = "/people/sync/"
EMPLOYEE_HEADER = [
    "external_id",
    "email",
    "first_name",
    "last_name",
    "team_external_id",
    "title",
    "role_family",
    "location",
    "hire_date",
    "is_front_line",
    "manages",
]


# --- Helpers -----------------------------------------------------------------------------------


def row_for(person: Employee, **changes: str) -> dict[str, str]:
    """The employees-file row that describes `person` as they are now, with `changes`."""
    person = Employee.objects.select_related("user", "team").get(pk=person.pk)
    row = {
        "external_id": person.external_id,
        "email": person.user.email,
        "first_name": person.user.first_name,
        "last_name": person.user.last_name,
        "team_external_id": person.team.external_id if person.team else "",
        "title": person.title,
        "role_family": person.role_family,
        "location": person.location,
        "hire_date": person.hire_date.isoformat() if person.hire_date else "",
        "is_front_line": "yes" if person.is_front_line else "no",
        "manages": ";".join(sorted(team.external_id for team in person.managed_teams.all())),
    }
    row.update(changes)
    return row


def new_row(external_id: str = "N-1", **changes: str) -> dict[str, str]:
    row = {
        "external_id": external_id,
        "email": f"{external_id.lower()}@example.com",
        "first_name": "Nina",
        "last_name": "Newcomer",
        "team_external_id": "SUP-A",
        "title": "Agent",
        "role_family": "Support",
        "location": "York",
        "hire_date": "2024-03-01",
        "is_front_line": "yes",
        "manages": "",
    }
    row.update(changes)
    return row


def to_csv(rows: list[dict[str, str]], header: list[str] | None = None) -> bytes:
    header = header or list(rows[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return buffer.getvalue().encode()


def everyone(cast: dict[str, Employee], **changes: dict[str, str]) -> list[dict[str, str]]:
    """One row per person of the cast, in a fixed order, with per-person changes."""
    return [row_for(person, **changes.get(name, {})) for name, person in cast.items()]


def snapshot() -> tuple:
    """Every row a directory sync may touch, so "nothing written" is checked row for row.

    `last_login` is left out: signing in to the upload page sets it.
    """
    user_fields = [f.name for f in User._meta.concrete_fields if f.name != "last_login"]
    return (
        list(User.objects.order_by("pk").values(*user_fields)),
        list(Employee.objects.order_by("pk").values()),
        list(Team.objects.order_by("pk").values()),
        list(Team.managers.through.objects.order_by("pk").values()),
        list(User.groups.through.objects.order_by("pk").values()),
    )


def sync_on_api(api, person, kind: str, content: bytes, **extra):
    upload = SimpleUploadedFile("directory.csv", content, content_type="text/csv")
    return api.as_(person).post(URL, {"kind": kind, "file": upload, **extra}, format="multipart")


@pytest.fixture(params=["service", "api", "page"])
def submit(request, hr_admin, api, client):
    """Send a file the way HR would, and check what they would see; return the sync."""

    def via_service(kind: str, content: bytes) -> DirectorySync:
        return services.directory_sync_start(
            kind=kind, content=content, file_name="directory.csv", requested_by=hr_admin.user
        )

    def via_api(kind: str, content: bytes) -> DirectorySync:
        response = sync_on_api(api, hr_admin, kind, content)
        body = response.json()
        if response.status_code == 400:
            # Bad rows are bad input: a 400 in the error format, with every row and the sync.
            error = body["error"]
            assert error["code"] == "rows_rejected"
            body = error["sync"]
            assert error["rows"] == body["row_errors"]
            assert error["message"] == body["message"]
            assert body["status"] == "rejected"
        else:
            assert response.status_code == 201, body
        sync = DirectorySync.objects.get(pk=body["id"])
        assert body["status"] == sync.status
        assert body["row_errors"] == sync.errors
        assert body["message"] == sync.message
        return sync

    def via_page(kind: str, content: bytes) -> DirectorySync:
        client.force_login(hr_admin.user)
        upload = SimpleUploadedFile("directory.csv", content, content_type="text/csv")
        response = client.post(PAGE, {"kind": kind, "file": upload})
        assert response.status_code == 302
        sync = DirectorySync.objects.latest("pk")
        assert response["Location"] == reverse("people:sync-detail", args=[sync.pk])
        html = client.get(response["Location"]).content.decode()
        assert escape(sync.message) in html
        for error in sync.errors:
            assert f'<td class="num">{error["row"] or "file"}</td>' in html
            assert escape(error["reason"]) in html
        return sync

    return {"service": via_service, "api": via_api, "page": via_page}[request.param]


def assert_rejected(sync: DirectorySync, errors: list[dict]) -> None:
    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.REJECTED
    assert sync.errors == errors
    assert (sync.created_count, sync.updated_count, sync.unchanged_count) == (0, 0, 0)
    assert sync.deactivated_count == 0
    assert sync.content == b""
    assert sync.finished_at is not None


# --- Rejected employees files ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("email", "not-an-email", "'not-an-email' is not a valid email address."),
        ("email", "", "'' is not a valid email address."),
        ("team_external_id", "NOPE", "Unknown team 'NOPE'."),
        ("team_external_id", "", "Required."),
        ("hire_date", "31/01/2024", "'31/01/2024' is not a YYYY-MM-DD date."),
        ("hire_date", "2024-02-30", "'2024-02-30' is not a YYYY-MM-DD date."),
        ("is_front_line", "maybe", "'maybe' is not yes/no."),
        ("manages", "SUP;NOPE", "Unknown team(s): NOPE."),
        ("external_id", "", "Required."),
        ("title", "x" * 201, "At most 200 characters."),
        ("email", "a" * 150 + "@example.com", "At most 150 characters."),
    ],
)
def test_a_bad_row_rejects_the_whole_employees_file_and_writes_nothing(
    submit, cast, column, value, reason
):
    rows = everyone(cast, employee={"title": "Senior agent"})
    rows.insert(1, new_row("N-1"))
    bad = new_row("N-2")
    bad[column] = value
    rows.insert(2, bad)
    before = snapshot()

    sync = submit("employees", to_csv(rows))

    assert_rejected(sync, [{"row": 4, "column": column, "reason": reason}])
    assert sync.message == "1 row(s) rejected; nothing was changed."
    assert sync.rows_total == 9
    assert snapshot() == before


def test_every_bad_row_is_reported_not_only_the_first(submit, cast):
    rows = everyone(cast)
    rows.append(new_row("N-1", email="nope", hire_date="tomorrow"))
    rows.append(new_row("N-2", team_external_id="NOPE", is_front_line="2"))
    before = snapshot()

    sync = submit("employees", to_csv(rows))

    assert_rejected(
        sync,
        [
            {"row": 9, "column": "email", "reason": "'nope' is not a valid email address."},
            {"row": 9, "column": "hire_date", "reason": "'tomorrow' is not a YYYY-MM-DD date."},
            {"row": 10, "column": "team_external_id", "reason": "Unknown team 'NOPE'."},
            {"row": 10, "column": "is_front_line", "reason": "'2' is not yes/no."},
        ],
    )
    assert sync.message == "4 row(s) rejected; nothing was changed."
    assert snapshot() == before


def test_a_duplicate_external_id_is_reported_with_both_rows(submit, cast):
    rows = everyone(cast)
    rows.append(new_row("N-1"))
    rows.append(new_row("N-1", email="other@example.com"))
    before = snapshot()

    sync = submit("employees", to_csv(rows))

    assert_rejected(
        sync,
        [
            {
                "row": 10,
                "column": "external_id",
                "reason": "Duplicate external id 'N-1' (first on row 9).",
            }
        ],
    )
    assert snapshot() == before


def test_a_duplicate_email_is_reported_with_both_rows_whatever_its_case(submit, cast):
    rows = everyone(cast)
    rows.append(new_row("N-1", email="Nina@Example.com"))
    rows.append(new_row("N-2", email="nina@example.com"))
    before = snapshot()

    sync = submit("employees", to_csv(rows))

    reason = "Duplicate email 'nina@example.com' (first on row 9)."
    assert_rejected(sync, [{"row": 10, "column": "email", "reason": reason}])
    assert snapshot() == before


def test_an_email_of_another_person_is_rejected(submit, cast):
    rows = everyone(cast, employee={"email": cast["teammate"].user.email.upper()})
    rows.pop(1)  # the teammate is not in the file, so their email looks free
    before = snapshot()

    sync = submit("employees", to_csv(rows))

    reason = f"{cast['teammate'].user.email.upper()!r} belongs to another person."
    assert_rejected(sync, [{"row": 2, "column": "email", "reason": reason}])
    assert snapshot() == before


def test_an_email_of_an_account_without_a_person_is_rejected_for_an_existing_person(submit, cast):
    User.objects.create_user(username="admin@example.com", email="admin@example.com")
    rows = everyone(cast, employee={"email": "admin@example.com"})
    before = snapshot()

    sync = submit("employees", to_csv(rows))

    reason = "'admin@example.com' belongs to another account."
    assert_rejected(sync, [{"row": 2, "column": "email", "reason": reason}])
    assert snapshot() == before


@pytest.mark.parametrize(
    ("header", "column", "words"),
    [
        (EMPLOYEE_HEADER[:1] + EMPLOYEE_HEADER[2:], "email", "missing column(s) email"),
        ([*EMPLOYEE_HEADER, "mail"], "mail", "unknown column(s) mail"),
    ],
)
def test_a_wrong_header_rejects_the_file_and_names_the_column(submit, cast, header, column, words):
    before = snapshot()

    sync = submit("employees", to_csv(everyone(cast), header=header))

    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.REJECTED
    assert len(sync.errors) == 1
    assert sync.errors[0]["row"] == 1
    assert sync.errors[0]["column"] == column
    assert words in sync.errors[0]["reason"]
    assert sync.message == sync.errors[0]["reason"]
    assert snapshot() == before


def test_a_latin1_file_is_rejected_as_not_utf8(submit, cast):
    rows = everyone(cast, employee={"first_name": "Zoë"})
    before = snapshot()

    sync = submit("employees", to_csv(rows).decode().encode("latin-1"))

    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.REJECTED
    assert [(e["row"], e["column"]) for e in sync.errors] == [(0, "")]
    assert sync.errors[0]["reason"].startswith("The file is not UTF-8 encoded")
    assert "CSV UTF-8" in sync.errors[0]["reason"]
    assert snapshot() == before


def test_a_row_with_the_wrong_number_of_values_is_rejected_with_its_row(submit, cast):
    content = to_csv(everyone(cast)) + b"N-9,n9@example.com,Nina,New,SUP-A,extra\n"
    before = snapshot()

    sync = submit("employees", content)

    reason = "Expected 11 values, found 6."
    assert_rejected(sync, [{"row": 9, "column": "", "reason": reason}])
    assert snapshot() == before


def test_a_header_without_rows_is_rejected_and_deactivates_nobody(submit, cast):
    before = snapshot()

    sync = submit("employees", ",".join(EMPLOYEE_HEADER).encode() + b"\r\n")

    assert_rejected(
        sync, [{"row": 2, "column": "", "reason": "The file has a header but no rows."}]
    )
    assert snapshot() == before


def test_an_empty_file_is_rejected_by_the_service(hr_admin):
    before = snapshot()
    sync = services.directory_sync_start(kind="employees", content=b"", requested_by=hr_admin.user)
    assert_rejected(sync, [{"row": 1, "column": "", "reason": "The file is empty."}])
    assert snapshot() == before


def test_an_empty_upload_is_refused_by_the_api_and_the_page(api, client, hr_admin):
    before = snapshot()
    response = sync_on_api(api, hr_admin, "employees", b"")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"] == {"file": ["The submitted file is empty."]}
    client.force_login(hr_admin.user)
    upload = SimpleUploadedFile("empty.csv", b"", content_type="text/csv")
    page = client.post(PAGE, {"kind": "employees", "file": upload})
    assert page.status_code == 200
    assert "The submitted file is empty." in page.content.decode()
    assert DirectorySync.objects.count() == 0
    assert snapshot() == before


# --- Size limit --------------------------------------------------------------------------------


@pytest.fixture
def small_limit(settings):
    settings.CXC_DIRECTORY_SYNC_MAX_BYTES = 300
    return settings.CXC_DIRECTORY_SYNC_MAX_BYTES


def test_a_file_over_the_size_limit_is_refused_by_the_service(small_limit, cast):
    content = to_csv(everyone(cast))
    before = snapshot()
    with pytest.raises(services.FileTooLarge) as caught:
        services.directory_sync_start(
            kind="employees", content=content, requested_by=cast["hr_admin"].user
        )
    assert caught.value.status == 413
    assert caught.value.message == f"The file is {len(content):,} bytes; the limit is 300 bytes."
    assert DirectorySync.objects.count() == 0
    assert snapshot() == before


def test_the_api_answers_413_in_the_error_format_for_a_file_over_the_size_limit(
    small_limit, api, cast
):
    content = to_csv(everyone(cast))
    before = snapshot()
    response = sync_on_api(api, cast["hr_admin"], "employees", content)
    message = f"The file is {len(content):,} bytes; the limit is 300 bytes."
    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "file_too_large", "message": message, "fields": {"file": [message]}}
    }
    assert DirectorySync.objects.count() == 0
    assert snapshot() == before


def test_the_api_answers_413_for_json_rows_over_the_size_limit(small_limit, api, cast):
    before = snapshot()
    response = api.as_(cast["hr_admin"]).post(
        URL, {"kind": "employees", "rows": everyone(cast)}, format="json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert list(response.json()["error"]["fields"]) == ["file"]
    assert DirectorySync.objects.count() == 0
    assert snapshot() == before


def test_the_page_shows_the_size_limit_on_the_form(small_limit, client, cast):
    content = to_csv(everyone(cast))
    before = snapshot()
    client.force_login(cast["hr_admin"].user)
    upload = SimpleUploadedFile("big.csv", content, content_type="text/csv")
    response = client.post(PAGE, {"kind": "employees", "file": upload})
    assert response.status_code == 200
    assert f"The file is {len(content):,} bytes; the limit is 300 bytes." in (
        response.content.decode()
    )
    assert DirectorySync.objects.count() == 0
    assert snapshot() == before


# --- Rejected teams files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "errors"),
    [
        (
            [("N1", "New", "NOPE")],
            [{"row": 3, "column": "parent_external_id", "reason": "Unknown team 'NOPE'."}],
        ),
        (
            [("N1", "", "ROOT")],
            [{"row": 3, "column": "name", "reason": "Required."}],
        ),
        (
            [("N1", "New", ""), ("N1", "Again", "")],
            [
                {
                    "row": 4,
                    "column": "external_id",
                    "reason": "Duplicate external id 'N1' (first on row 3).",
                }
            ],
        ),
        (
            [("N1", "New", "N1")],
            [
                {
                    "row": 3,
                    "column": "parent_external_id",
                    "reason": "A team cannot be its own parent.",
                }
            ],
        ),
        (
            [("ROOT", "Company", "SUP-A")],
            [
                {
                    "row": row,
                    "column": "parent_external_id",
                    "reason": "This parent would make a cycle.",
                }
                for row in (2, 3)
            ],
        ),
    ],
)
def test_a_bad_teams_row_rejects_the_whole_teams_file(submit, org, rows, errors):
    content = b"external_id,name,parent_external_id\nSUP,Support renamed,ROOT\n" + b"".join(
        ",".join(row).encode() + b"\n" for row in rows
    )
    before = snapshot()

    sync = submit("teams", content)

    assert_rejected(sync, errors)
    assert snapshot() == before


def test_a_teams_file_with_a_wrong_header_is_rejected(submit, org):
    before = snapshot()
    sync = submit("teams", b"external_id,title\nN1,New\n")
    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.REJECTED
    assert [(e["row"], e["column"]) for e in sync.errors] == [(1, "name, title")]
    assert snapshot() == before


# --- Good employees syncs ----------------------------------------------------------------------


def test_a_good_sync_creates_and_updates_people_matched_on_external_id(submit, cast, org):
    employee, teammate = cast["employee"], cast["teammate"]
    rows = everyone(
        cast,
        employee={"title": "Senior agent"},
        teammate={"team_external_id": "SUP-B"},
        outsider={"email": "olga.new@example.com"},
    )
    rows.append(new_row("N-1", hire_date="2024-03-01", is_front_line="Y"))

    sync = submit("employees", to_csv(rows))

    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.APPLIED
    assert sync.errors == []
    assert (sync.rows_total, sync.created_count, sync.updated_count) == (8, 1, 3)
    assert (sync.unchanged_count, sync.deactivated_count) == (4, 0)
    assert sync.message == "1 created, 3 updated, 4 unchanged, 0 deactivated."
    assert sync.content == b""
    employee.refresh_from_db()
    teammate.refresh_from_db()
    assert employee.title == "Senior agent"
    assert teammate.team == org["support_b"]
    outsider = User.objects.get(employee__pk=cast["outsider"].pk)
    assert (outsider.email, outsider.username) == ("olga.new@example.com", "olga.new@example.com")
    newcomer = Employee.objects.select_related("user", "team").get(external_id="N-1")
    assert newcomer.team == org["support_a"]
    assert newcomer.hire_date == dt.date(2024, 3, 1)
    assert newcomer.is_front_line is True
    assert newcomer.is_active and newcomer.user.is_active
    assert (newcomer.user.username, newcomer.user.first_name) == ("n-1@example.com", "Nina")
    assert not newcomer.user.has_usable_password()
    assert list(newcomer.user.groups.values_list("name", flat=True)) == [Role.EMPLOYEE]
    assert Employee.objects.count() == 8


def test_the_same_file_twice_changes_nothing_the_second_time(hr_admin, cast):
    rows = everyone(cast, employee={"title": "Senior agent"})
    rows.append(new_row("N-1"))
    content = to_csv(rows)
    first = services.directory_sync_start(
        kind="employees", content=content, requested_by=hr_admin.user
    )
    assert (first.created_count, first.updated_count, first.unchanged_count) == (1, 1, 6)
    before = snapshot()

    second = services.directory_sync_start(
        kind="employees", content=content, requested_by=hr_admin.user
    )

    assert second.status == DirectorySync.Status.APPLIED
    assert (second.created_count, second.updated_count, second.unchanged_count) == (0, 0, 8)
    assert second.deactivated_count == 0
    assert snapshot() == before


def test_a_file_without_optional_columns_leaves_those_fields_as_they_are(hr_admin, cast):
    services.employee_update(employee=cast["employee"], hire_date=dt.date(2020, 1, 2))
    before = snapshot()
    header = ["external_id", "email", "first_name", "last_name", "team_external_id"]

    sync = services.directory_sync_start(
        kind="employees", content=to_csv(everyone(cast), header=header), requested_by=None
    )

    assert sync.status == DirectorySync.Status.APPLIED
    assert (sync.updated_count, sync.unchanged_count) == (0, 7)
    assert snapshot() == before
    manager = Employee.objects.get(pk=cast["manager"].pk)
    assert list(manager.managed_teams.values_list("external_id", flat=True)) == ["SUP"]


def test_a_sync_reactivates_a_person_who_is_back_in_the_file(hr_admin, cast):
    services.employee_update(employee=cast["outsider"], is_active=False)

    sync = services.directory_sync_start(
        kind="employees", content=to_csv(everyone(cast)), requested_by=hr_admin.user
    )

    assert (sync.updated_count, sync.unchanged_count) == (1, 6)
    outsider = Employee.objects.select_related("user").get(pk=cast["outsider"].pk)
    assert outsider.is_active and outsider.user.is_active


def test_manages_makes_someone_a_manager_who_then_sees_their_subtree(hr_admin, api, cast, org):
    sales_person = cast["sales_person"]
    rows = everyone(cast, employee={"manages": "SAL;SUP-B"})

    sync = services.directory_sync_start(
        kind="employees", content=to_csv(rows), requested_by=hr_admin.user
    )

    assert (sync.updated_count, sync.unchanged_count) == (1, 6)
    erin = Employee.objects.select_related("user").get(pk=cast["employee"].pk)
    assert Role.MANAGER in erin.user.groups.values_list("name", flat=True)
    assert set(org["sales"].managers.all()) == {erin}
    assert set(org["support_b"].managers.all()) == {erin}
    response = api.as_(erin).get("/api/v1/employees/", {"page_size": 100})
    assert response.status_code == 200
    by_name = {item["name"]: item for item in response.json()["results"]}
    full = sorted(name for name, item in by_name.items() if "email" in item)
    assert full == ["Erin Employee", "Olga Outsider", "Sam Sales"]
    # The people they manage show in full; a teammate they do not manage only in public.
    assert by_name["Sam Sales"]["email"] == sales_person.user.email
    assert "email" not in by_name["Tom Teammate"]


def test_an_empty_manages_value_takes_the_manager_role_away(hr_admin, cast, org):
    rows = everyone(cast, manager={"manages": ""})

    sync = services.directory_sync_start(
        kind="employees", content=to_csv(rows), requested_by=hr_admin.user
    )

    assert sync.updated_count == 1
    manager = Employee.objects.select_related("user").get(pk=cast["manager"].pk)
    assert manager.managed_teams.count() == 0
    assert Role.MANAGER not in manager.user.groups.values_list("name", flat=True)
    assert not org["support"].managers.exists()


def test_json_rows_go_through_the_same_checks_and_accept_json_booleans(api, cast):
    rows: list[dict] = everyone(cast)
    for row in rows:
        row["is_front_line"] = row["is_front_line"] == "yes"
    rows.append(new_row("N-1", is_front_line=True, manages=["SAL", "SUP-B"]))  # type: ignore[arg-type]

    response = api.as_(cast["hr_admin"]).post(
        URL, {"kind": "employees", "rows": rows}, format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["created_count"], body["unchanged_count"]) == ("applied", 1, 7)
    assert (body["file_name"], body["row_errors"]) == ("", [])
    newcomer = Employee.objects.get(external_id="N-1")
    assert newcomer.is_front_line is True
    assert set(newcomer.managed_teams.values_list("external_id", flat=True)) == {"SAL", "SUP-B"}


def test_json_rows_with_a_bad_row_are_rejected_with_csv_row_numbers(api, cast):
    rows = everyone(cast)
    rows.append(new_row("N-1", email="nope"))
    before = snapshot()

    response = api.as_(cast["hr_admin"]).post(
        URL, {"kind": "employees", "rows": rows}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"] == {"email": ["row 9: 'nope' is not a valid email address."]}
    body = error["sync"]
    assert body["status"] == "rejected"
    # The first object is row 2, as it would be in the CSV file.
    assert body["row_errors"] == [
        {"row": 9, "column": "email", "reason": "'nope' is not a valid email address."}
    ]
    assert snapshot() == before


def test_json_rows_with_an_unknown_key_are_rejected_as_a_wrong_header(api, cast):
    rows = everyone(cast)
    rows[0]["colour"] = "blue"
    before = snapshot()

    response = api.as_(cast["hr_admin"]).post(
        URL, {"kind": "employees", "rows": rows}, format="json"
    )

    assert response.status_code == 400
    body = response.json()["error"]["sync"]
    assert body["status"] == "rejected"
    assert [(e["row"], e["column"]) for e in body["row_errors"]] == [(1, "colour")]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "employees"}, "file"),
        ({"kind": "employees", "rows": [{"external_id": "x"}], "file": "x"}, "file"),
        ({"kind": "people", "rows": [{"external_id": "x"}]}, "kind"),
        ({"kind": "employees", "rows": [{"external_id": {"nested": 1}}]}, "rows"),
    ],
)
def test_a_malformed_request_is_a_400_in_the_error_format(api, hr_admin, payload, field):
    response = api.as_(hr_admin).post(URL, payload, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == [field]
    assert DirectorySync.objects.count() == 0


# --- Deactivation ------------------------------------------------------------------------------


def test_people_missing_from_the_file_are_deactivated_and_cannot_sign_in(submit, cast, client):
    outsider = cast["outsider"]
    assert client.login(
        request=HttpRequest(),
        username=outsider.user.username,
        password="correct horse battery staple",
    )
    client.logout()
    rows = [row for row in everyone(cast) if row["external_id"] != outsider.external_id]

    sync = submit("employees", to_csv(rows))

    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.APPLIED
    assert (sync.unchanged_count, sync.deactivated_count) == (6, 1)
    outsider = Employee.objects.select_related("user").get(pk=outsider.pk)
    assert not outsider.is_active
    assert not outsider.user.is_active
    assert not client.login(
        request=HttpRequest(),
        username=outsider.user.username,
        password="correct horse battery staple",
    )
    assert Employee.objects.filter(is_active=True).count() == 6


def test_is_active_no_in_the_file_deactivates_the_person(hr_admin, cast):
    rows = everyone(cast)
    for row in rows:
        row["is_active"] = "no" if row["external_id"] == cast["outsider"].external_id else "yes"

    sync = services.directory_sync_start(
        kind="employees", content=to_csv(rows), requested_by=hr_admin.user
    )

    assert (sync.updated_count, sync.unchanged_count, sync.deactivated_count) == (1, 6, 1)
    outsider = Employee.objects.select_related("user").get(pk=cast["outsider"].pk)
    assert not outsider.is_active and not outsider.user.is_active


def _three_of_seven_missing(cast) -> bytes:
    keep = ("employee", "manager", "hr_admin", "executive")
    return to_csv([row_for(cast[name]) for name in keep])


def test_a_sync_that_would_deactivate_over_40_percent_waits_and_writes_nothing(submit, cast):
    before = snapshot()

    sync = submit("employees", _three_of_seven_missing(cast))

    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.NEEDS_CONFIRMATION
    assert sync.deactivated_count == 3
    assert (sync.created_count, sync.updated_count, sync.unchanged_count) == (0, 0, 0)
    assert "would deactivate 3 of 7 active people (43%), more than 40%" in sync.message
    assert sync.finished_at is None
    assert snapshot() == before


def test_deactivating_exactly_40_percent_needs_no_confirmation(hr_admin, cast):
    extra = [EmployeeFactory(team=cast["employee"].team) for _ in range(3)]
    people = {**cast, **{f"extra{n}": person for n, person in enumerate(extra)}}
    rows = everyone(people)[:6]  # 4 of 10 active people are missing

    sync = services.directory_sync_start(
        kind="employees", content=to_csv(rows), requested_by=hr_admin.user
    )

    assert sync.status == DirectorySync.Status.APPLIED
    assert sync.deactivated_count == 4


def test_confirming_applies_the_sync_and_confirming_twice_is_a_conflict(api, cast):
    hr_admin = cast["hr_admin"]
    created = sync_on_api(api, hr_admin, "employees", _three_of_seven_missing(cast))
    assert created.status_code == 201
    assert created.json()["status"] == "needs_confirmation"
    sync_id = created.json()["id"]

    response = api.as_(hr_admin).post(f"{URL}{sync_id}/confirm/")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["deactivated_count"], body["unchanged_count"]) == (
        "applied",
        3,
        4,
    )
    assert body["confirm_deactivation"] is True
    assert Employee.objects.filter(is_active=True).count() == 4
    assert User.objects.filter(is_active=True).count() == 4
    again = api.as_(hr_admin).post(f"{URL}{sync_id}/confirm/")
    assert again.status_code == 409
    assert again.json() == {
        "error": {
            "code": "conflict",
            "message": "Only a sync waiting for confirmation can be confirmed.",
            "fields": {},
        }
    }
    cancel = api.as_(hr_admin).post(f"{URL}{sync_id}/cancel/")
    assert cancel.status_code == 409
    assert Employee.objects.filter(is_active=True).count() == 4


def test_cancelling_a_waiting_sync_writes_nothing_and_it_can_no_longer_be_confirmed(api, cast):
    hr_admin = cast["hr_admin"]
    sync_id = sync_on_api(api, hr_admin, "employees", _three_of_seven_missing(cast)).json()["id"]
    before = snapshot()

    response = api.as_(hr_admin).post(f"{URL}{sync_id}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["finished_at"] is not None
    assert DirectorySync.objects.get(pk=sync_id).content == b""
    assert api.as_(hr_admin).post(f"{URL}{sync_id}/confirm/").status_code == 409
    assert api.as_(hr_admin).post(f"{URL}{sync_id}/cancel/").status_code == 409
    assert snapshot() == before


def test_confirm_and_cancel_of_an_unknown_sync_are_404(api, hr_admin):
    for action in ("confirm", "cancel"):
        for pk in ("999", "abc"):
            response = api.as_(hr_admin).post(f"{URL}{pk}/{action}/")
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"


def test_confirm_deactivation_up_front_applies_at_once(api, cast):
    response = sync_on_api(
        api, cast["hr_admin"], "employees", _three_of_seven_missing(cast), confirm_deactivation=True
    )
    assert response.status_code == 201
    assert (response.json()["status"], response.json()["deactivated_count"]) == ("applied", 3)


def test_hr_confirms_and_cancels_on_the_page(client, cast):
    hr_admin = cast["hr_admin"]
    client.force_login(hr_admin.user)
    first = services.directory_sync_start(
        kind="employees", content=_three_of_seven_missing(cast), requested_by=hr_admin.user
    )
    second = services.directory_sync_start(
        kind="employees", content=_three_of_seven_missing(cast), requested_by=hr_admin.user
    )
    # The second, newer, is the one to confirm: the first is superseded while the second waits.
    page = client.get(reverse("people:sync-detail", args=[second.pk])).content.decode()
    assert "Apply and deactivate 3 people" in page
    assert "would be deactivated" in page

    response = client.post(reverse("people:sync-cancel", args=[second.pk]))
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.status == DirectorySync.Status.CANCELLED
    assert Employee.objects.filter(is_active=True).count() == 7
    # Cancelled, the second changed nothing: the first is the latest again.
    page = client.get(reverse("people:sync-detail", args=[first.pk])).content.decode()
    assert "Apply and deactivate 3 people" in page

    response = client.post(reverse("people:sync-confirm", args=[first.pk]), follow=True)
    first.refresh_from_db()
    assert first.status == DirectorySync.Status.APPLIED
    assert Employee.objects.filter(is_active=True).count() == 4
    assert "Apply and deactivate" not in response.content.decode()

    response = client.post(reverse("people:sync-confirm", args=[first.pk]), follow=True)
    assert "Only a sync waiting for confirmation can be confirmed." in response.content.decode()


def test_a_cancelled_sync_reads_as_cancelled_with_nobody_deactivated_and_nothing_to_confirm(
    client, cast
):
    hr_admin = cast["hr_admin"]
    client.force_login(hr_admin.user)
    sync = services.directory_sync_start(
        kind="employees", content=_three_of_seven_missing(cast), requested_by=hr_admin.user
    )
    services.directory_sync_cancel(sync=sync)

    html = client.get(reverse("people:sync-detail", args=[sync.pk])).content.decode()
    page = " ".join(re.sub(r"<[^>]+>", " ", html).split())

    assert re.search(
        r"Cancelled on \d+ \w+ \d{4} \d\d:\d\d: nothing was changed and nobody was deactivated\.",
        page,
    )
    assert "3 deactivated" not in page
    assert "would be deactivated" not in page
    assert "Confirm" not in page
    assert "Apply and deactivate" not in page
    assert "sync-confirm" not in html and f"/{sync.pk}/confirm/" not in html


SUPERSEDED = (
    "A newer employees sync (#{newer}) was sent after this one; confirming this one would undo "
    "it. Send this file again if it is still right."
)


def test_a_waiting_sync_cannot_be_confirmed_after_a_newer_complete_sync_was_applied(api, cast):
    hr_admin = cast["hr_admin"]
    stale = sync_on_api(api, hr_admin, "employees", _three_of_seven_missing(cast)).json()["id"]
    newer = sync_on_api(api, hr_admin, "employees", to_csv(everyone(cast))).json()
    assert newer["status"] == "applied"

    response = api.as_(hr_admin).post(f"{URL}{stale}/confirm/")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "superseded",
        "message": SUPERSEDED.format(newer=newer["id"]),
        "fields": {},
    }
    assert DirectorySync.objects.get(pk=stale).status == DirectorySync.Status.NEEDS_CONFIRMATION
    assert Employee.objects.filter(is_active=True).count() == 7


def test_a_waiting_sync_cannot_be_confirmed_while_a_newer_one_waits_too(api, cast):
    hr_admin = cast["hr_admin"]
    stale = sync_on_api(api, hr_admin, "employees", _three_of_seven_missing(cast)).json()["id"]
    newer = sync_on_api(api, hr_admin, "employees", _three_of_seven_missing(cast)).json()["id"]

    assert api.as_(hr_admin).post(f"{URL}{stale}/confirm/").status_code == 409
    assert api.as_(hr_admin).post(f"{URL}{newer}/confirm/").status_code == 200
    assert Employee.objects.filter(is_active=True).count() == 4


def test_a_newer_sync_of_the_other_kind_does_not_supersede_a_waiting_one(api, cast, org):
    hr_admin = cast["hr_admin"]
    waiting = sync_on_api(api, hr_admin, "employees", _three_of_seven_missing(cast)).json()["id"]
    teams = [{"external_id": team.external_id, "name": team.name} for team in org.values()]
    assert sync_on_api(api, hr_admin, "teams", to_csv(teams)).json()["status"] == "applied"

    assert api.as_(hr_admin).post(f"{URL}{waiting}/confirm/").status_code == 200


def test_the_page_offers_no_confirm_for_a_superseded_sync_and_refuses_it(client, cast):
    hr_admin = cast["hr_admin"]
    client.force_login(hr_admin.user)
    stale = services.directory_sync_start(
        kind="employees", content=_three_of_seven_missing(cast), requested_by=hr_admin.user
    )
    newer = services.directory_sync_start(
        kind="employees", content=to_csv(everyone(cast)), requested_by=hr_admin.user
    )

    page = client.get(reverse("people:sync-detail", args=[stale.pk])).content.decode()

    assert "Apply and deactivate" not in page
    assert escape(SUPERSEDED.format(newer=newer.pk)) in page
    response = client.post(reverse("people:sync-confirm", args=[stale.pk]), follow=True)
    assert escape(SUPERSEDED.format(newer=newer.pk)) in response.content.decode()
    assert Employee.objects.filter(is_active=True).count() == 7


def test_a_confirmed_sync_still_queued_when_a_newer_one_is_applied_is_cancelled(
    settings, hr_admin, cast, django_capture_on_commit_callbacks
):
    stale = services.directory_sync_start(
        kind="employees", content=_three_of_seven_missing(cast), requested_by=hr_admin.user
    )
    settings.CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES = 1  # the confirmed file goes to a worker
    with django_capture_on_commit_callbacks(execute=False):
        services.directory_sync_confirm(sync=stale)
    settings.CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES = 1_000_000
    newer = services.directory_sync_start(
        kind="employees", content=to_csv(everyone(cast)), requested_by=hr_admin.user
    )
    assert newer.status == DirectorySync.Status.APPLIED

    services.directory_sync_apply(sync_id=stale.pk)  # the worker gets to it now

    stale.refresh_from_db()
    assert stale.status == DirectorySync.Status.CANCELLED
    assert stale.message == SUPERSEDED.format(newer=newer.pk).replace("confirming", "applying")
    assert Employee.objects.filter(is_active=True).count() == 7


def test_a_sync_left_waiting_for_a_week_expires(hr_admin, cast):
    with time_machine.travel(dt.datetime(2025, 1, 1, 9, tzinfo=dt.UTC), tick=False):
        waiting = services.directory_sync_start(
            kind="employees", content=_three_of_seven_missing(cast), requested_by=hr_admin.user
        )
    with time_machine.travel(dt.datetime(2025, 1, 7, 9, tzinfo=dt.UTC), tick=False):
        assert services.directory_syncs_expire() == 0
    with time_machine.travel(dt.datetime(2025, 1, 8, 10, tzinfo=dt.UTC), tick=False):
        assert services.directory_syncs_expire() == 1
    waiting.refresh_from_db()
    assert waiting.status == DirectorySync.Status.CANCELLED
    assert waiting.content == b""


# --- Large files go through a Celery worker ----------------------------------------------------


def test_a_large_file_is_applied_by_the_celery_task(
    settings, api, cast, django_capture_on_commit_callbacks
):
    settings.CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES = 10
    rows = everyone(cast)
    rows.append(new_row("N-1"))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = sync_on_api(api, cast["hr_admin"], "employees", to_csv(rows))
        assert response.status_code == 202
        assert response.json()["status"] == "pending"
        assert not Employee.objects.filter(external_id="N-1").exists()

    # Applying the file, then (registered by the task's own commit) inviting the new person.
    assert len(callbacks) == 2
    sync = DirectorySync.objects.get(pk=response.json()["id"])
    assert sync.status == DirectorySync.Status.APPLIED
    assert (sync.created_count, sync.unchanged_count) == (1, 7)
    assert Employee.objects.filter(external_id="N-1").exists()
    detail = api.as_(cast["hr_admin"]).get(f"{URL}{sync.pk}/").json()
    assert (detail["status"], detail["created_count"]) == ("applied", 1)


def test_a_large_file_from_the_page_shows_pending_then_applied(
    settings, client, cast, django_capture_on_commit_callbacks
):
    settings.CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES = 10
    client.force_login(cast["hr_admin"].user)
    upload = SimpleUploadedFile("all.csv", to_csv(everyone(cast)), content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PAGE, {"kind": "employees", "file": upload})
        sync = DirectorySync.objects.get()
        page = client.get(response["Location"]).content.decode()
        assert "A worker is applying this file" in page
        assert 'hx-trigger="every 2s"' in page

    partial = client.get(response["Location"], headers={"HX-Request": "true"}).content.decode()
    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.APPLIED
    assert "hx-get" not in partial
    assert "<html" not in partial
    assert "0 created, 0 updated, 7 unchanged, 0 deactivated." in partial


def test_confirming_a_large_sync_hands_it_to_the_worker(
    settings, api, cast, django_capture_on_commit_callbacks
):
    settings.CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES = 10
    hr_admin = cast["hr_admin"]
    with django_capture_on_commit_callbacks(execute=True):
        sync_id = sync_on_api(api, hr_admin, "employees", _three_of_seven_missing(cast)).json()[
            "id"
        ]
    assert DirectorySync.objects.get(pk=sync_id).status == "needs_confirmation"

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.as_(hr_admin).post(f"{URL}{sync_id}/confirm/")
        assert response.status_code == 202
        assert response.json()["status"] == "pending"

    assert len(callbacks) == 1
    assert DirectorySync.objects.get(pk=sync_id).status == "applied"
    assert Employee.objects.filter(is_active=True).count() == 4


def test_the_task_applies_a_sync_only_once(settings, hr_admin, cast):
    from cxculture.people.tasks import directory_sync_apply_task

    settings.CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES = 10
    rows = everyone(cast)
    rows.append(new_row("N-1"))
    # The test's transaction never commits, so the task is not sent: run it by hand, twice.
    sync = services.directory_sync_start(
        kind="employees", content=to_csv(rows), requested_by=hr_admin.user
    )
    assert sync.status == DirectorySync.Status.PENDING
    directory_sync_apply_task(sync.pk)
    directory_sync_apply_task(sync.pk)
    sync.refresh_from_db()
    assert (sync.status, sync.created_count) == ("applied", 1)
    assert Employee.objects.filter(external_id="N-1").count() == 1


# --- Who may sync ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["employee", "manager", "executive", "teammate"])
def test_only_hr_admins_may_use_directory_syncs_in_the_api(api, cast, role):
    sync = services.directory_sync_start(
        kind="employees", content=_three_of_seven_missing(cast), requested_by=None
    )
    person = cast[role]
    client = api.as_(person)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{sync.pk}/").status_code == 403
    response = client.post(URL, {"kind": "employees", "rows": everyone(cast)}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert client.post(f"{URL}{sync.pk}/confirm/").status_code == 403
    assert client.post(f"{URL}{sync.pk}/cancel/").status_code == 403
    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.NEEDS_CONFIRMATION
    assert DirectorySync.objects.count() == 1
    assert api.as_(None).get(URL).status_code == 401


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_only_hr_admins_may_open_the_sync_pages(client, cast, role):
    sync = services.directory_sync_start(
        kind="employees", content=_three_of_seven_missing(cast), requested_by=None
    )
    client.force_login(cast[role].user)
    upload = SimpleUploadedFile("x.csv", to_csv(everyone(cast)), content_type="text/csv")
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, {"kind": "employees", "file": upload}).status_code == 403
    assert client.get(reverse("people:sync-detail", args=[sync.pk])).status_code == 403
    assert client.post(reverse("people:sync-confirm", args=[sync.pk])).status_code == 403
    assert client.post(reverse("people:sync-cancel", args=[sync.pk])).status_code == 403
    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.NEEDS_CONFIRMATION
    assert DirectorySync.objects.count() == 1
    assert Employee.objects.filter(is_active=True).count() == 7


def test_a_visitor_is_sent_to_sign_in_from_the_sync_page(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_hr_sees_the_recent_syncs_and_the_columns_on_the_sync_page(client, cast):
    services.directory_sync_start(
        kind="employees",
        content=to_csv(everyone(cast)),
        file_name="=hr-export.csv",
        requested_by=cast["hr_admin"].user,
    )
    client.force_login(cast["hr_admin"].user)
    page = client.get(PAGE).content.decode()
    assert "=hr-export.csv" in page
    assert "Applied" in page
    assert "external_id, email, first_name, last_name, team_external_id" in page
    assert "external_id, name, parent_external_id" in page


# --- Cost --------------------------------------------------------------------------------------


def test_an_unchanged_resync_costs_the_same_queries_for_ten_or_forty_people(hr_admin, cast):
    def resync_queries() -> int:
        content = to_csv(everyone({str(e.pk): e for e in Employee.objects.all()}))
        with CaptureQueriesContext(connection) as queries:
            sync = services.directory_sync_start(
                kind="employees", content=content, requested_by=hr_admin.user
            )
        assert sync.status == DirectorySync.Status.APPLIED
        assert sync.updated_count == 0
        return len(queries)

    for _ in range(3):
        EmployeeFactory(team=cast["employee"].team)
    small = resync_queries()
    for _ in range(30):
        EmployeeFactory(team=cast["outsider"].team)
    assert resync_queries() == small


def test_a_sync_adds_people_to_groups_that_already_exist(hr_admin, cast):
    assert Group.objects.filter(name=Role.MANAGER).count() == 1
    rows = everyone(cast, employee={"manages": "SAL"})
    services.directory_sync_start(kind="employees", content=to_csv(rows), requested_by=None)
    assert Group.objects.filter(name=Role.MANAGER).count() == 1
    assert Group.objects.get(name=Role.MANAGER).user_set.count() == 2


def test_a_spreadsheet_export_with_a_bom_and_a_multi_line_value_keeps_row_numbers(hr_admin, cast):
    rows = everyone(cast, employee={"title": "Agent\nand trainer"})
    rows.append(new_row("N-1", email="nope"))
    content = b"\xef\xbb\xbf" + to_csv(rows)
    assert content.count(b"\n") == 10  # 9 rows, one of them on two lines

    sync = services.directory_sync_start(
        kind="employees", content=content, requested_by=hr_admin.user
    )

    assert_rejected(
        sync, [{"row": 9, "column": "email", "reason": "'nope' is not a valid email address."}]
    )
    rows.pop()
    sync = services.directory_sync_start(
        kind="employees", content=b"\xef\xbb\xbf" + to_csv(rows), requested_by=hr_admin.user
    )
    assert (sync.status, sync.updated_count, sync.unchanged_count) == ("applied", 1, 6)
    assert Employee.objects.get(pk=cast["employee"].pk).title == "Agent\nand trainer"
