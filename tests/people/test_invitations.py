"""Invitations to choose a password, and password reset, for people who arrive by directory
sync (they start without a usable password). Every e-mail is followed as a person would: open
the link, choose a password, sign in."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from cxculture.people import services
from cxculture.people.models import DirectorySync, Employee

BASE_URL = "https://cx.example.com"
CHOSEN = "my own pass phrase 2026"


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.CXC_BASE_URL = BASE_URL
    settings.CXC_DIRECTORY_SYNC_SEND_INVITATIONS = True


def _csrf(response) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode())
    assert match, "the page has no CSRF token"
    return match.group(1)


def _sync(*rows: str, capture) -> DirectorySync:
    """Apply an employees file holding everyone already active plus `rows`, as HR would, and
    run what waits for the commit (the invitations)."""
    kept = [
        f"{e.external_id},{e.user.email},{e.user.first_name},{e.user.last_name},"
        f"{e.team.external_id},yes"
        for e in Employee.objects.filter(is_active=True).select_related("user", "team")
        if f"{e.external_id}," not in "".join(rows)
    ]
    header = "external_id,email,first_name,last_name,team_external_id,is_active"
    content = "\n".join([header, *kept, *rows]) + "\n"
    with capture(execute=True):
        sync = services.directory_sync_start(
            kind="employees", content=content.encode(), requested_by=None
        )
    assert sync.status == DirectorySync.Status.APPLIED, (sync.message, sync.errors)
    return sync


def _link(message) -> str:
    """The one set-password link of an e-mail, as a path on this site (it must be absolute,
    from CXC_BASE_URL)."""
    links = re.findall(r"(https?://\S+/accounts/reset/\S+/)", message.body)
    assert len(links) == 1, message.body
    assert links[0].startswith(BASE_URL + "/accounts/reset/"), links[0]
    return links[0].removeprefix(BASE_URL)


def _choose_password(client: Client, path: str, password: str = CHOSEN):
    form = client.get(path, follow=True)
    assert "Choose a new password" in form.content.decode(), form.content.decode()
    return client.post(
        form.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password, "csrfmiddlewaretoken": _csrf(form)},
    )


def _signs_in(email: str, password: str) -> str | None:
    """The name the home page greets after signing in with these, or None if refused."""
    client = Client()
    answer = client.post("/accounts/login/", {"username": email, "password": password})
    if answer.status_code != 302:
        return None
    match = re.search(r"<h1>Hello, ([^<]+)</h1>", client.get("/").content.decode())
    return match.group(1) if match else None


# --- On directory sync -----------------------------------------------------------------------


def test_a_new_synced_person_is_invited_chooses_a_password_and_signs_in(
    org, django_capture_on_commit_callbacks
):
    _sync(
        "E-100,Ana.Synced@example.com,Ana,Synced,SUP-A,yes",
        capture=django_capture_on_commit_callbacks,
    )

    assert len(mail.outbox) == 1
    invitation = mail.outbox[0]
    assert invitation.to == ["Ana.Synced@example.com"]
    assert invitation.subject == "You are invited to cxculture: choose your password"
    assert "Hello Ana," in invitation.body
    assert f"sign in at {BASE_URL}/accounts/login/ with ana.synced@example.com" in invitation.body
    assert _signs_in("ana.synced@example.com", CHOSEN) is None

    browser = Client(enforce_csrf_checks=True)
    saved = _choose_password(browser, _link(invitation))

    assert saved["Location"] == "/accounts/reset/done/"
    assert _signs_in("ana.synced@example.com", CHOSEN) == "Ana"
    again = browser.get(_link(invitation), follow=True)
    assert "This link has expired" in again.content.decode()


def test_a_sync_invites_only_people_it_creates_active_and_only_once(
    org, django_capture_on_commit_callbacks
):
    _sync(
        "E-100,ana@example.com,Ana,Synced,SUP-A,yes",
        "E-200,ivan@example.com,Ivan,Left,SUP-A,no",
        capture=django_capture_on_commit_callbacks,
    )
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]

    # The same file again, and a change to Ana: nobody new, so nobody is invited.
    _sync("E-100,ana@example.com,Ana,Renamed,SUP-A,yes", capture=django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    assert Employee.objects.get(external_id="E-100").user.last_name == "Renamed"


def test_invitations_on_sync_can_be_turned_off(org, settings, django_capture_on_commit_callbacks):
    settings.CXC_DIRECTORY_SYNC_SEND_INVITATIONS = False

    _sync("E-100,ana@example.com,Ana,Synced,SUP-A,yes", capture=django_capture_on_commit_callbacks)

    assert Employee.objects.filter(external_id="E-100").exists()
    assert mail.outbox == []


def test_a_repeated_invitation_task_sends_each_email_once(org, django_capture_on_commit_callbacks):
    _sync("E-100,ana@example.com,Ana,Synced,SUP-A,yes", capture=django_capture_on_commit_callbacks)
    ana = Employee.objects.get(external_id="E-100")
    assert len(mail.outbox) == 1

    # A worker that ran the same message again (acks_late redelivery) claims nobody.
    sent_again = services.employee_invitations_send(
        employee_ids=[ana.pk], requested_at=ana.invited_at
    )

    assert sent_again == 0
    assert len(mail.outbox) == 1


# --- By HR -----------------------------------------------------------------------------------


@pytest.fixture
def ana(org, hr_admin, django_capture_on_commit_callbacks, settings):
    settings.CXC_DIRECTORY_SYNC_SEND_INVITATIONS = False
    _sync("E-100,ana@example.com,Ana,Synced,SUP-A,yes", capture=django_capture_on_commit_callbacks)
    return Employee.objects.select_related("user").get(external_id="E-100")


def _hr_client(hr_admin) -> Client:
    client = Client()
    client.force_login(hr_admin.user)
    return client


def test_hr_invites_a_person_from_their_page_and_the_link_works(ana, hr_admin):
    client = _hr_client(hr_admin)
    page = client.get(f"/people/{ana.pk}/").content.decode()
    assert '<dd id="password-status">Not set yet</dd>' in page
    assert '<dd id="invited-at">Never</dd>' in page

    answer = client.post(f"/people/{ana.pk}/invite/", follow=True)

    page = answer.content.decode()
    assert "An invitation to choose a password went to ana@example.com." in page
    assert '<dd id="invited-at">Never</dd>' not in page
    assert "Send the invitation again" in page
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]
    assert _choose_password(Client(), _link(mail.outbox[0]))["Location"] == "/accounts/reset/done/"
    assert _signs_in("ana@example.com", CHOSEN) == "Ana"
    assert '<dd id="password-status">Set</dd>' in client.get(f"/people/{ana.pk}/").content.decode()


def test_hr_cannot_invite_someone_who_has_a_password_or_has_left(ana, hr_admin, employee):
    client = _hr_client(hr_admin)

    has_password = client.post(f"/people/{employee.pk}/invite/", follow=True).content.decode()
    services.employee_update(employee=ana, is_active=False)
    has_left = client.post(f"/people/{ana.pk}/invite/", follow=True).content.decode()

    assert "already has a password" in has_password
    assert "is not active, so cannot be invited" in has_left
    assert mail.outbox == []


def test_hr_invites_everyone_active_without_a_password_in_one_go(
    ana, hr_admin, employee, django_capture_on_commit_callbacks
):
    _sync(
        "E-300,bo@example.com,Bo,Synced,SUP-B,yes",
        "E-400,cy@example.com,Cy,Gone,SUP-B,no",
        capture=django_capture_on_commit_callbacks,
    )
    client = _hr_client(hr_admin)
    directory = client.get("/people/").content.decode()
    assert "<strong>2</strong> active people have no password yet." in directory

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post("/people/invite/", follow=True)

    assert "Invitations to choose a password are on their way to 2 people." in (
        answer.content.decode()
    )
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@example.com", "bo@example.com"]
    for message in mail.outbox:
        assert _choose_password(Client(), _link(message))["Location"] == "/accounts/reset/done/"
    assert _signs_in("bo@example.com", CHOSEN) == "Bo"
    assert "no password yet" not in client.get("/people/").content.decode()


@pytest.mark.parametrize("role", ["employee", "manager", "executive"])
def test_only_hr_sees_a_persons_page_and_sends_invitations(ana, cast, role):
    client = Client()
    client.force_login(cast[role].user)

    assert client.get(f"/people/{ana.pk}/").status_code == 403
    assert client.post(f"/people/{ana.pk}/invite/").status_code == 403
    assert client.post("/people/invite/").status_code == 403
    assert "Invite everyone" not in client.get("/people/").content.decode()
    assert mail.outbox == []


# --- Forgot your password? -------------------------------------------------------------------


def _ask_for_reset(email: str, **extra):
    browser = Client(enforce_csrf_checks=True)
    form = browser.get("/accounts/password_reset/")
    return browser.post(
        "/accounts/password_reset/",
        {"email": email, "csrfmiddlewaretoken": _csrf(form)},
        **extra,
    )


def test_a_synced_person_without_a_password_can_reset_one_and_sign_in(ana):
    answer = _ask_for_reset("ANA@example.com")

    assert answer["Location"] == "/accounts/password_reset/done/"
    assert [m.to for m in mail.outbox] == [["ana@example.com"]]
    assert _choose_password(Client(), _link(mail.outbox[0]))["Location"] == "/accounts/reset/done/"
    assert _signs_in("ana@example.com", CHOSEN) == "Ana"


def test_no_reset_link_goes_to_someone_who_has_left_or_is_not_in_the_directory(ana, db):
    services.employee_update(employee=ana, is_active=False)
    User.objects.create(username="admin-made", email="loose@example.com", password="!unusable")

    assert _ask_for_reset("ana@example.com")["Location"] == "/accounts/password_reset/done/"
    assert _ask_for_reset("loose@example.com")["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_a_reset_link_points_at_the_configured_site_whatever_host_was_asked(employee):
    _ask_for_reset(employee.user.email, HTTP_HOST="localhost")

    assert len(mail.outbox) == 1
    _link(mail.outbox[0])  # starts with CXC_BASE_URL, not http://localhost
    assert "http://localhost" not in mail.outbox[0].body
