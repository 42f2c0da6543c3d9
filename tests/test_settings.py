"""Production settings: refuse to start without secrets, and pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "cxculture.settings.production",
    "DJANGO_SECRET_KEY": "x" * 30 + "a-long-random-production-secret-key-for-the-check",
    "DJANGO_ALLOWED_HOSTS": "cx.example.com",
    "DJANGO_EMAIL_URL": "smtp+tls://cx:secret@mail.example.com:587",
    "CXC_CACHE_URL": "redis://127.0.0.1:6379/11",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return _python("manage.py", *args, env=env)


def _python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CXC_"))}
    return subprocess.run(  # noqa: S603 - our own code
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_the_deployment_checks():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts_mail_or_a_shared_cache():
    # Without CXC_CACHE_URL each process would keep its own cache: rate limits, the lockout's
    # neighbours and the dashboard's figures would differ from one worker to the next.
    for missing in ("DJANGO_ALLOWED_HOSTS", "DJANGO_EMAIL_URL", "CXC_CACHE_URL"):
        env = {k: v for k, v in PRODUCTION.items() if k != missing}
        result = _manage("check", env=env)
        assert result.returncode != 0, missing
        assert f"Set the {missing} environment variable" in result.stderr


def test_the_default_settings_need_no_variable_at_all():
    result = _manage("check", env={"DJANGO_SETTINGS_MODULE": "cxculture.settings.dev"})
    assert result.returncode == 0, result.stderr


def test_the_web_and_the_workers_default_to_the_same_production_settings():
    without_module = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SETTINGS_MODULE"}
    defaults = {}
    for entry_point in ("cxculture.wsgi", "cxculture.celery"):
        result = _python(
            "-c",
            f"import os, {entry_point}; print(os.environ['DJANGO_SETTINGS_MODULE'])",
            env=without_module,
        )
        assert result.returncode == 0, result.stderr
        defaults[entry_point] = result.stdout.strip()

    assert defaults == {
        "cxculture.wsgi": "cxculture.settings.production",
        "cxculture.celery": "cxculture.settings.production",
    }


def test_a_worker_started_without_settings_refuses_to_start_without_secrets():
    result = _python(
        "-c",
        "from cxculture.celery import app; app.loader.import_default_modules()",
        env={},
    )

    assert result.returncode != 0
    assert "Set the DJANGO_SECRET_KEY environment variable" in result.stderr


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)")
def test_postgresql_connections_do_not_jit_compile_queries():
    # The dashboard's leaders query spent most of its time compiling at enterprise size.
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
