"""Nobody, a superuser included, can list or open responses, answers or invitations in the admin."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User

from surveys.models import Answer, Invitation, Question, Response, SurveyProgram, SurveyRun


@pytest.fixture
def superuser_client(client, db):
    user = User.objects.create_superuser("root", "root@example.com", "a long admin password")
    client.force_login(user)
    return client


def test_responses_answers_and_invitations_are_not_in_the_admin():
    for model in (Response, Answer, Invitation):
        assert not admin.site.is_registered(model)
    for model in (Question, SurveyProgram, SurveyRun):
        assert admin.site.is_registered(model)


@pytest.mark.parametrize("model", ["response", "answer", "invitation"])
def test_a_superuser_gets_not_found_for_them(superuser_client, model):
    assert superuser_client.get(f"/admin/surveys/{model}/").status_code == 404
    assert superuser_client.get(f"/admin/surveys/{model}/1/change/").status_code == 404


def test_the_admin_index_lists_only_the_library_programs_and_runs(superuser_client):
    page = superuser_client.get("/admin/").content.decode()
    assert "/admin/surveys/question/" in page
    assert "/admin/surveys/surveyrun/" in page
    assert "/admin/surveys/response/" not in page
    assert "/admin/surveys/answer/" not in page
