"""A real OpenID Connect provider for the sign-in tests: a small Django project on
django-oauth-toolkit, served on loopback by `serve.py` in a subprocess of the test run."""
