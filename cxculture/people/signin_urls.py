"""Sign-in routes beyond Django's own (mounted under accounts/ before django.contrib.auth.urls):
single sign-on with OpenID Connect, and a password reset that reaches synced people."""

from django.contrib.auth import views as auth_views
from django.urls import path

from . import oidc
from .forms import DirectoryPasswordResetForm

urlpatterns = [
    path(
        "password_reset/",
        auth_views.PasswordResetView.as_view(form_class=DirectoryPasswordResetForm),
        name="password_reset",
    ),
    path(
        "oidc/authenticate/",
        oidc.SignInWithProviderView.as_view(),
        name="oidc_authentication_init",
    ),
    path(
        "oidc/callback/", oidc.ProviderCallbackView.as_view(), name="oidc_authentication_callback"
    ),
]
