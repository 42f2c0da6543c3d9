from django.urls import path

from . import views

app_name = "actions"

urlpatterns = [
    path("", views.action_list, name="list"),
    path("new/", views.action_create, name="create"),
    path("new/owners/", views.owner_options, name="owner-options"),
    path("organisation/", views.organisation_page, name="organisation"),
    path("team/<int:pk>/", views.team_page, name="team"),
    path("<int:pk>/", views.action_detail, name="detail"),
    path("<int:pk>/updates/", views.action_update_post, name="update"),
    path("<int:pk>/follow/", views.action_follow, name="follow"),
]
