"""Sign-in routes beyond Django's own (mounted under accounts/ before django.contrib.auth.urls):
single sign-on with OpenID Connect."""

from django.urls import path

from . import oidc

urlpatterns = [
    path(
        "oidc/authenticate/",
        oidc.SignInWithProviderView.as_view(),
        name="oidc_authentication_init",
    ),
    path(
        "oidc/callback/", oidc.ProviderCallbackView.as_view(), name="oidc_authentication_callback"
    ),
]
