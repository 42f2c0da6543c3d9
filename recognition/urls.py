from django.urls import path

from . import views

app_name = "recognition"

urlpatterns = [
    path("", views.feed, name="feed"),
    path("give/", views.give, name="give"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/react/", views.react, name="react"),
    path("<int:pk>/reverse/", views.reverse, name="reverse"),
    path("points/", views.points, name="points"),
    path("rewards/", views.rewards, name="rewards"),
    path("rewards/<int:pk>/redeem/", views.redeem, name="redeem"),
    path("redemptions/", views.redemptions, name="redemptions"),
    path(
        "redemptions/<int:pk>/<slug:decision>/",
        views.redemption_decide,
        name="redemption-decide",
    ),
    path("budgets/", views.budgets, name="budgets"),
    path("budgets/<int:pk>/top-up/", views.budget_top_up, name="budget-top-up"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("catalogue/<int:pk>/", views.catalogue_edit, name="catalogue-edit"),
    path("catalogue/<int:pk>/retire/", views.catalogue_retire, name="catalogue-retire"),
    path("catalogue/<int:pk>/restore/", views.catalogue_restore, name="catalogue-restore"),
    path("exceptions/", views.exceptions, name="exceptions"),
    path("exceptions/review/", views.exception_queue, name="exception-queue"),
    path("exceptions/<int:pk>/review/", views.exception_review, name="exception-review"),
    path("policies/", views.policies, name="policies"),
    path("policies/<int:pk>/", views.policy_detail, name="policy-detail"),
    path("not-recognised/", views.not_recognised, name="not-recognised"),
    path("reciprocal/", views.reciprocal, name="reciprocal"),
]
