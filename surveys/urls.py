from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("", views.index, name="index"),
    path("questions/", views.question_library, name="questions"),
    path("questions/<int:pk>/edit/", views.question_edit, name="question-edit"),
    path("questions/<int:pk>/active/", views.question_set_active, name="question-set-active"),
    path("drivers/new/", views.driver_create, name="driver-create"),
    path("drivers/<int:pk>/rename/", views.driver_rename, name="driver-rename"),
    path("drivers/<int:pk>/active/", views.driver_set_active, name="driver-set-active"),
    path("audience-count/", views.audience_count, name="audience-count"),
    path("programs/new/", views.program_create, name="program-create"),
    path("programs/<int:pk>/", views.program_detail, name="program-detail"),
    path("programs/<int:pk>/edit/", views.program_edit, name="program-edit"),
    path("programs/<int:pk>/active/", views.program_set_active, name="program-set-active"),
    path("programs/<int:pk>/archive/", views.program_archive, name="program-archive"),
    path("programs/<int:pk>/start/", views.program_start_run, name="program-start-run"),
    path("runs/import/", views.run_import, name="run-import"),
    path("runs/<int:pk>/close/", views.run_close, name="run-close"),
    path("runs/<int:pk>/results/", views.run_results, name="run-results"),
    path("runs/<int:pk>/results.csv", views.run_results_csv, name="run-results-csv"),
    path("runs/<int:pk>/respond/", views.respond_signed_in, name="respond-signed-in"),
    path("r/<str:token>/", views.respond, name="respond"),
    path("thanks/", views.thanks, name="thanks"),
]
