"""Directory sync with a column mapping: an HR export loads with its own headers, teams and
people from one file, the mapping saved by name for the next export."""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cxculture.people import services
from cxculture.people.models import DirectorySource, DirectorySync, Employee, Team

URL = "/api/v1/directory-syncs/"
PAGE = "/people/sync/"

EXPORT_HEADER = [
    "Employee ID",
    "Work Email",
    "Given Name",
    "Surname",
    "team_id",
    "team_name",
    "parent_team_id",
    "is_manager",
    "frontline",
    "Cost Centre",
]
MAPPING = {
    "external_id": "Employee ID",
    "email": "Work Email",
    "first_name": "Given Name",
    "last_name": "Surname",
    "team_external_id": "team_id",
    "team_name": "team_name",
    "parent_team_external_id": "parent_team_id",
    "is_manager": "is_manager",
    "is_front_line": "frontline",
}


def export(rows: list[list[str]], header: list[str] = EXPORT_HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def hr_export(*also: Employee) -> bytes:
    """A department under ROOT and two teams under it, with `also` (people already there)."""
    rows = [
        [
            e.external_id,
            e.user.email,
            e.user.first_name,
            e.user.last_name,
            e.team.external_id,
            e.team.name,
            e.team.parent.external_id if e.team.parent else "",
            "N",
            "N",
            "",
        ]
        for e in also
    ]
    rows += [
        [
            "E-1",
            "dana@example.com",
            "Dana",
            "Director",
            "CC",
            "Contact Centre",
            "ROOT",
            "Y",
            "N",
            "900",
        ],
        ["E-2", "bill@example.com", "Bill", "Lead", "CC-BIL", "Billing", "CC", "Y", "Y", "901"],
        ["E-3", "ann@example.com", "Ann", "Agent", "CC-BIL", "Billing", "CC", "N", "Y", "901"],
        ["E-4", "tia@example.com", "Tia", "Tech", "CC-TEC", "Tech support", "CC", "N", "Y", "902"],
    ]
    return export(rows)


def post(api, person, content: bytes, **fields):
    upload = SimpleUploadedFile("export.csv", content, content_type="text/csv")
    data = {"kind": "employees", "file": upload, "confirm_deactivation": "true"}
    data.update({key: json.dumps(v) if isinstance(v, dict) else v for key, v in fields.items()})
    return api.as_(person).post(URL, data, format="multipart")


def test_an_hr_export_with_its_own_headers_loads_people_and_their_teams(api, hr_admin):
    answer = post(api, hr_admin, hr_export(), mapping=MAPPING)

    assert answer.status_code == 201, answer.json()
    assert answer.json()["message"].startswith("Teams: 3 created, 0 updated, 0 unchanged.")
    billing = Team.objects.get(external_id="CC-BIL")
    assert (billing.name, billing.parent.external_id) == ("Billing", "CC")
    assert billing.parent.parent.external_id == "ROOT"
    assert billing.is_in_subtree_of(Team.objects.get(external_id="ROOT"))
    ann = Employee.objects.select_related("user", "team").get(external_id="E-3")
    assert (ann.user.email, ann.user.first_name, ann.team.name) == (
        "ann@example.com",
        "Ann",
        "Billing",
    )
    assert ann.is_front_line is True
    assert [t.external_id for t in Employee.objects.get(external_id="E-2").managed_teams.all()] == [
        "CC-BIL"
    ]
    assert list(billing.parent.managers.values_list("external_id", flat=True)) == ["E-1"]
    assert answer.json()["mapping"]["external_id"] == "Employee ID"


def test_a_mapping_saved_by_name_loads_the_next_export_without_sending_it(api, hr_admin):
    first = post(api, hr_admin, hr_export(), mapping=MAPPING, save_mapping_as="Workday")
    assert first.status_code == 201, first.json()
    assert DirectorySource.objects.get(name="Workday").mapping["email"] == "Work Email"

    changed = hr_export().replace(b"Tech support", b"Technical support")
    second = post(api, hr_admin, changed, source="Workday")

    assert second.status_code == 201, second.json()
    assert second.json()["source"] == "Workday"
    assert Team.objects.get(external_id="CC-TEC").name == "Technical support"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"favourite_colour": "Cost Centre"}, "favourite_colour"),
        ({"email": ""}, "'email' must be mapped"),
        ({"email": "E-mail"}, "'E-mail'"),
    ],
    ids=["unknown target", "required target missing", "header not in the file"],
)
def test_a_bad_mapping_is_a_400_naming_the_field_and_nothing_is_stored(
    api, hr_admin, change, named
):
    answer = post(api, hr_admin, hr_export(), mapping={**MAPPING, **change})

    assert answer.status_code == 400
    body = answer.json()["error"]
    assert body["code"] == "wrong_mapping"
    assert named in body["fields"]["mapping"][0]
    assert not DirectorySync.objects.exists()
    assert not Team.objects.filter(external_id="CC").exists()


def test_an_unknown_saved_mapping_is_a_400_on_source(api, hr_admin):
    answer = post(api, hr_admin, hr_export(), source="Nowhere")

    assert answer.status_code == 400
    assert "source" in answer.json()["error"]["fields"]


def test_bad_rows_are_reported_with_the_files_own_header_names(api, hr_admin):
    content = export(
        [
            [
                "E-1",
                "dana@example.com",
                "Dana",
                "Director",
                "CC",
                "Contact Centre",
                "ROOT",
                "Y",
                "N",
                "",
            ],
            ["E-2", "not-an-email", "Bill", "Lead", "CC-BIL", "Billing", "CC", "maybe", "Y", ""],
        ]
    )

    answer = post(api, hr_admin, content, mapping=MAPPING)

    assert answer.status_code == 400
    rows = {(e["row"], e["column"]) for e in answer.json()["error"]["rows"]}
    assert rows == {(3, "Work Email"), (3, "is_manager")}
    assert not Team.objects.filter(external_id="CC").exists()  # teams are all or nothing too


def test_rows_that_disagree_about_a_team_are_rejected_on_the_team_columns(api, hr_admin):
    content = export(
        [
            ["E-1", "dana@example.com", "Dana", "D", "CC", "Contact Centre", "ROOT", "Y", "N", ""],
            ["E-2", "bill@example.com", "Bill", "L", "CC", "Contact Center", "SAL", "N", "Y", ""],
            ["E-3", "ann@example.com", "Ann", "A", "X", "Lost", "NOWHERE", "N", "Y", ""],
        ]
    )

    answer = post(api, hr_admin, content, mapping=MAPPING)

    assert answer.status_code == 400
    errors = {(e["row"], e["column"]): e["reason"] for e in answer.json()["error"]["rows"]}
    assert set(errors) == {(3, "team_name"), (3, "parent_team_id")}
    assert "'Contact Centre' here on row 2" in errors[(3, "team_name")]


def test_an_unknown_parent_team_is_reported_on_the_parent_column(api, hr_admin):
    content = export([["E-3", "ann@example.com", "Ann", "A", "X", "Lost", "NOWHERE", "N", "Y", ""]])

    answer = post(api, hr_admin, content, mapping=MAPPING)

    assert answer.status_code == 400
    assert answer.json()["error"]["rows"] == [
        {"row": 2, "column": "parent_team_id", "reason": "Unknown team 'NOWHERE'."}
    ]


def test_json_rows_with_the_sources_own_keys_load_through_a_mapping(api, hr_admin, org):
    rows = [
        {
            "Employee ID": "J-1",
            "Work Email": "j1@example.com",
            "Given Name": "Jo",
            "Surname": "One",
            "team_id": "SUP-A",
            "frontline": True,
        },
    ]
    mapping = {k: v for k, v in MAPPING.items() if v in rows[0]}

    answer = api.as_(hr_admin).post(
        URL,
        {"kind": "employees", "rows": rows, "mapping": mapping, "confirm_deactivation": True},
        format="json",
    )

    assert answer.status_code == 201, answer.json()
    jo = Employee.objects.get(external_id="J-1")
    assert (jo.team.external_id, jo.is_front_line) == ("SUP-A", True)


def test_a_teams_file_with_its_own_headers_loads_through_a_mapping(api, hr_admin, org):
    content = export(
        [["D1", "Retail", "ROOT"], ["D1-N", "North", "D1"]], ["Dept", "Dept Name", "Parent"]
    )
    upload = SimpleUploadedFile("teams.csv", content, content_type="text/csv")
    mapping = {"external_id": "Dept", "name": "Dept Name", "parent_external_id": "Parent"}

    answer = api.as_(hr_admin).post(
        URL, {"kind": "teams", "file": upload, "mapping": json.dumps(mapping)}, format="multipart"
    )

    assert answer.status_code == 201, answer.json()
    assert Team.objects.get(external_id="D1-N").parent.name == "Retail"


def test_the_guess_maps_common_hr_names_and_prefers_the_saved_mapping():
    header = ["Employee ID", "Work Email", "First Name", "Surname", "Team ID", "Frontline", "Dept"]

    guess = services.directory_mapping_guess("employees", header)
    assert guess == {
        "external_id": "Employee ID",
        "email": "Work Email",
        "first_name": "First Name",
        "last_name": "Surname",
        "team_external_id": "Team ID",
        "is_front_line": "Frontline",
    }
    saved = {"team_name": "Dept", "external_id": "gone"}
    guess = services.directory_mapping_guess("employees", header, saved=saved)
    assert guess["team_name"] == "Dept"
    assert guess["external_id"] == "Employee ID"


# --- The page's mapping step --------------------------------------------------------------------


def upload_page(client, content: bytes, **extra):
    upload = SimpleUploadedFile("export.csv", content, content_type="text/csv")
    return client.post(PAGE, {"kind": "employees", "file": upload, **extra})


def test_the_page_asks_for_a_mapping_pre_filled_by_guessing_then_applies_it(client, hr_admin):
    client.force_login(hr_admin.user)

    answer = upload_page(client, hr_export(hr_admin))

    sync = DirectorySync.objects.get()
    assert sync.status == DirectorySync.Status.NEEDS_MAPPING
    assert answer.url == f"/people/sync/{sync.pk}/map/"
    page = client.get(answer.url)
    form = page.context["form"]
    initial = {field.label: field.initial for field in form.header_fields()}
    assert initial["Employee ID"] == "external_id"
    assert initial["parent_team_id"] == "parent_team_external_id"
    assert initial["Cost Centre"] == ""
    assert "<code>Work Email</code>" in page.content.decode()

    data = {
        f"column_{i}": MAPPING.get(_target_of(h), "") and _target_of(h)
        for i, h in enumerate(EXPORT_HEADER)
    }
    data["save_mapping_as"] = "Workday"
    done = client.post(answer.url, data)

    assert done.url == f"/people/sync/{sync.pk}/"
    sync.refresh_from_db()
    assert sync.status == DirectorySync.Status.APPLIED, sync.errors
    assert Employee.objects.get(external_id="E-4").team.parent.name == "Contact Centre"
    assert DirectorySource.objects.get(name="Workday").mapping == MAPPING


def test_the_mapping_step_shows_each_column_with_its_value_in_the_first_row(client, hr_admin):
    client.force_login(hr_admin.user)

    answer = upload_page(client, hr_export())
    page = client.get(answer.url)

    samples = {field.label: sample for field, sample in page.context["rows"]}
    assert samples["Employee ID"] == "E-1"
    assert samples["Work Email"] == "dana@example.com"
    assert samples["parent_team_id"] == "ROOT"
    assert samples["Cost Centre"] == "900"
    assert "<td>dana@example.com</td>" in page.content.decode()


def _target_of(header: str) -> str:
    return next((target for target, h in MAPPING.items() if h == header), "")


def test_the_page_pre_fills_from_the_chosen_saved_mapping(client, hr_admin):
    DirectorySource.objects.create(
        name="Legacy HR", kind="employees", mapping={**MAPPING, "location": "Cost Centre"}
    )
    client.force_login(hr_admin.user)

    answer = upload_page(client, hr_export(), source="Legacy HR")

    form = client.get(answer.url).context["form"]
    initial = {field.label: field.initial for field in form.header_fields()}
    assert initial["Cost Centre"] == "location"
    assert form.initial["save_mapping_as"] == "Legacy HR"


def test_the_page_refuses_a_target_chosen_twice_and_a_missing_required_one(client, hr_admin):
    client.force_login(hr_admin.user)
    answer = upload_page(client, hr_export())
    data = {f"column_{i}": "" for i in range(len(EXPORT_HEADER))}
    data["column_0"] = data["column_1"] = "external_id"

    page = client.post(answer.url, data)

    assert page.status_code == 200
    form = page.context["form"]
    assert "external_id is already filled from 'Employee ID'." in form.errors["column_1"]
    assert "Choose a column for: email" in str(form.non_field_errors())
    assert DirectorySync.objects.get().status == DirectorySync.Status.NEEDS_MAPPING


def test_a_file_in_our_own_column_names_skips_the_mapping_step(client, hr_admin, org):
    client.force_login(hr_admin.user)
    content = b"external_id,name,parent_external_id\nNEW,New team,ROOT\n"
    upload = SimpleUploadedFile("teams.csv", content, content_type="text/csv")

    client.post(PAGE, {"kind": "teams", "file": upload})

    assert DirectorySync.objects.get().status == DirectorySync.Status.APPLIED


def test_only_hr_admins_open_the_mapping_step_and_cancelling_it_writes_nothing(
    client, hr_admin, manager
):
    client.force_login(hr_admin.user)
    answer = upload_page(client, hr_export())
    client.force_login(manager.user)
    assert client.get(answer.url).status_code == 403

    client.force_login(hr_admin.user)
    client.post(answer.url.replace("/map/", "/cancel/"))

    assert DirectorySync.objects.get().status == DirectorySync.Status.CANCELLED
    assert client.get(answer.url).url.endswith(
        "/people/sync/1/".replace("1", str(DirectorySync.objects.get().pk))
    )
    assert not Team.objects.filter(external_id="CC").exists()
