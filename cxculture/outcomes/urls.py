from django.urls import path

from . import views

app_name = "outcomes"

urlpatterns = [
    path("", views.import_list, name="import-list"),
    path("imports/map/<str:key>/", views.import_map, name="import-map"),
    path("imports/map/<str:key>/cancel/", views.import_map_cancel, name="import-map-cancel"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/rejected-rows.csv", views.import_errors_download, name="import-errors"),
    path("metrics/", views.metric_list, name="metric-list"),
    path("sources/", views.source_list, name="source-list"),
    path("sources/<int:pk>/rotate-token/", views.source_rotate, name="source-rotate"),
    path("sources/<int:pk>/toggle/", views.source_toggle, name="source-toggle"),
]
