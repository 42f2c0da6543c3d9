"""`make demo PORT=…` serves on that port and its e-mail links point there (dry runs of make)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _dry_run(target: str, *args: str, **env: str) -> list[str]:
    environment = {key: value for key, value in os.environ.items() if key != "CXC_BASE_URL"}
    completed = subprocess.run(  # noqa: S603
        ["make", "-n", target, *args],  # noqa: S607
        cwd=Path(settings.BASE_DIR),
        env=environment | env,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in completed.stdout.splitlines() if "manage.py" in line]


def test_the_demo_serves_on_the_port_asked_for_and_links_there():
    commands = _dry_run("demo", "PORT=8001")

    assert commands[-1].endswith("manage.py runserver 127.0.0.1:8001")
    assert [c.split()[0] for c in commands] == ["CXC_BASE_URL=http://127.0.0.1:8001"] * 4
    assert any(c.endswith("manage.py run_due_work") for c in commands)


def test_the_demo_defaults_to_port_8000():
    assert _dry_run("demo")[-1].startswith("CXC_BASE_URL=http://127.0.0.1:8000 ") and _dry_run(
        "demo"
    )[-1].endswith("runserver 127.0.0.1:8000")


def test_a_base_url_already_set_is_kept():
    commands = _dry_run("serve", "PORT=8001", CXC_BASE_URL="https://culture.example.com")

    assert commands == [
        "CXC_BASE_URL=https://culture.example.com .venv/bin/python manage.py runserver "
        "127.0.0.1:8001"
    ]
