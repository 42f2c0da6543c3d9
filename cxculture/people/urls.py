from django.urls import path

from . import views

app_name = "people"

urlpatterns = [
    path("", views.directory, name="directory"),
    path("<int:pk>/", views.person, name="person"),
    path("<int:pk>/invite/", views.person_invite, name="person-invite"),
    path("invite/", views.invite_without_password, name="invite-without-password"),
    path("sync/", views.sync_list, name="sync-list"),
    path("sync/<int:pk>/", views.sync_detail, name="sync-detail"),
    path("sync/<int:pk>/map/", views.sync_map, name="sync-map"),
    path("sync/<int:pk>/confirm/", views.sync_confirm, name="sync-confirm"),
    path("sync/<int:pk>/cancel/", views.sync_cancel, name="sync-cancel"),
]
