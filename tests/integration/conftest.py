"""Real services: a Celery worker process on the configured broker, sharing the test database.

These tests run whenever CELERY_BROKER_URL is set (CI sets it to this machine's Redis, and
DATABASE_URL to its PostgreSQL); without a broker they are skipped with the reason.
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from cxculture.celery import app as celery_app

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)
            if not BROKER_URL:
                item.add_marker(pytest.mark.skip(reason="needs CELERY_BROKER_URL (a real broker)"))


def _database_url() -> str:
    params = connection.settings_dict
    if connection.vendor == "postgresql":
        user = params.get("USER") or ""
        password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
        auth = f"{user}{password}@" if user else ""
        host = params.get("HOST") or "localhost"
        port = params.get("PORT") or 5432
        return f"postgres://{auth}{host}:{port}/{params['NAME']}"
    return f"sqlite:///{params['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen, email_dir: Path, log: Path, queue: str):
        self.process = process
        self.queue = queue
        self.email_dir = email_dir
        self.log = log

    def emails(self) -> list[str]:
        """Every message the worker sent, as raw text (the file email backend)."""
        messages: list[str] = []
        for path in sorted(self.email_dir.glob("*.log")):
            text = path.read_text()
            messages += [part for part in text.split("-" * 79) if part.strip()]
        return messages

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"The worker died:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(
            f"Timed out after {timeout} s. Worker log:\n{self.log.read_text()[-3000:]}"
        )


@pytest.fixture(scope="session")
def _worker_process(django_db_setup, django_db_blocker) -> Iterator[Worker]:
    """One real worker process (2 processes of prefork) for the session, on its own queue."""
    queue = f"cxculture-test-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="cxculture-worker-"))
    email_dir = workdir / "emails"
    email_dir.mkdir()
    log = workdir / "worker.log"
    with django_db_blocker.unblock():
        database_url = _database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cxculture.settings.test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": BROKER_URL,
        "CXC_CELERY_QUEUE": queue,
        "CXC_TASKS_EAGER": "false",
        "CXC_TEST_EMAIL_DIR": str(email_dir),
    }
    process = subprocess.Popen(  # noqa: S603 - our own worker command
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cxculture",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    worker = Worker(process, email_dir, log, queue)
    try:
        worker.wait_until(lambda: "ready." in log.read_text(), timeout=60)
        yield worker
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        assert settings.CELERY_BROKER_URL  # the worker ran against a real broker


@pytest.fixture
def celery_worker(_worker_process: Worker) -> Iterator[Worker]:
    """The session's real worker, sent this test's tasks. Only this test: every other test on
    the same process keeps running tasks eagerly, so no worker reads the test database while a
    later test's teardown empties it (that deadlocked the TRUNCATE)."""
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = _worker_process.queue
    try:
        yield _worker_process
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
