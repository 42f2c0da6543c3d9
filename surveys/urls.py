from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("", views.index, name="index"),
    path("programs/new/", views.program_create, name="program-create"),
    path("programs/<int:pk>/", views.program_detail, name="program-detail"),
    path("programs/<int:pk>/start/", views.program_start_run, name="program-start-run"),
    path("runs/import/", views.run_import, name="run-import"),
    path("runs/<int:pk>/close/", views.run_close, name="run-close"),
    path("runs/<int:pk>/results/", views.run_results, name="run-results"),
    path("runs/<int:pk>/results.csv", views.run_results_csv, name="run-results-csv"),
    path("runs/<int:pk>/respond/", views.respond_signed_in, name="respond-signed-in"),
    path("r/<str:token>/", views.respond, name="respond"),
    path("thanks/", views.thanks, name="thanks"),
]
