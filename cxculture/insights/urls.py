from django.urls import path

from . import views

app_name = "insights"

urlpatterns = [
    path("linkage/", views.linkage, name="linkage"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("culture/", views.culture_page, name="culture"),
]
