"""A worker killed (SIGKILL, the whole process group) in the middle of a 100,000-row outcome
import, and a new worker started: the message is redelivered (acks_late, the broker's visibility
timeout), the import resumes after its last committed batch, and the records are exactly the
file's good rows, each once, with every bad row listed."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from cxculture.celery import app as celery_app
from cxculture.outcomes.ingest import jobs
from cxculture.outcomes.models import OutcomeImport, OutcomeImportError, OutcomeRecord
from cxculture.outcomes.tasks import outcome_import_run_task
from tests.factories.outcomes import builtin_metrics, csv_bytes, record
from tests.integration.conftest import BROKER_URL, ROOT, _database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL)"),
]

ROWS = 100_000
BAD_EVERY = 997  # row n (0-based) is bad when n % BAD_EVERY == 5: 101 bad rows
VISIBILITY_TIMEOUT = 2  # seconds: the killed worker's message is redelivered that soon
# Its own Redis database: a worker restores *every* unacknowledged message in its database that is
# older than its visibility timeout, and 2 s would redeliver the session worker's messages (a
# retry waiting for its countdown) while other tests run alongside.
KILL_BROKER_URL = (
    re.sub(r"/\d*$", "", BROKER_URL.rstrip("/"))
    + "/"
    + (os.environ.get("CXC_TEST_KILL_BROKER_DB", "12"))
)


def _outcome_file() -> tuple[bytes, set[str], set[int]]:
    """The file, the external ids of its good rows, and the CSV row numbers of its bad rows."""
    rows, good, bad_rows = [], set(), set()
    for n in range(ROWS):
        if n % BAD_EVERY == 5:
            rows.append(record("csat", 9, "2025-06-02", team="SUP-A", external_id=f"bad-{n}"))
            bad_rows.add(n + 2)  # the header is row 1
        else:
            day = 1 + n % 28
            rows.append(
                record("nps", n % 11, f"2025-06-{day:02d}", team="SUP-A", external_id=f"r-{n}")
            )
            good.add(f"r-{n}")
    return csv_bytes(rows), good, bad_rows


class _Worker:
    """A Celery worker in its own process group, so one signal reaches it and its children."""

    def __init__(self, env: dict[str, str], queue: str, log: Path):
        self.log = log
        self.process = subprocess.Popen(  # noqa: S603 - our own worker command
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "cxculture",
                "worker",
                "--loglevel=INFO",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                queue,
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready(self) -> None:
        self.wait_until(lambda: "ready." in self.log.read_text(), timeout=60, every=0.1)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, every: float = 0.02):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"The worker died:\n{self.log.read_text()[-3000:]}")
            time.sleep(every)
        raise AssertionError(f"Timed out after {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def worker_factory(settings, monkeypatch):
    queue = f"cxculture-kill-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="cxculture-kill-"))
    uploads = workdir / "uploads"
    uploads.mkdir()
    # The upload must be on a disk both this process and the workers read.
    settings.CXC_OUTCOME_IMPORT_DIR = str(uploads)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cxculture.settings.test",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": KILL_BROKER_URL,
        "CXC_CELERY_QUEUE": queue,
        "CXC_TASKS_EAGER": "false",
        "CXC_OUTCOME_IMPORT_DIR": str(uploads),
        "CXC_OUTCOME_IMPORT_BATCH_SIZE": "2000",
        "CXC_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    }
    previous = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue

    def send_to_the_kill_broker(*args):
        with celery_app.connection_for_write(KILL_BROKER_URL) as broker:
            return outcome_import_run_task.apply_async(args=args, connection=broker, queue=queue)

    monkeypatch.setattr(outcome_import_run_task, "delay", send_to_the_kill_broker)
    workers: list[_Worker] = []

    def start() -> _Worker:
        worker = _Worker(env, queue, workdir / f"worker-{len(workers) + 1}.log")
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = previous
        for worker in workers:
            worker.stop()


def test_a_worker_killed_mid_import_loses_and_duplicates_nothing(org, hr_admin, worker_factory):
    first = worker_factory()  # starts while the file is built
    builtin_metrics()
    content, good, bad_rows = _outcome_file()
    first.ready()

    job, _ = jobs.outcome_import_create(
        file=ContentFile(content, name="outcomes.csv"),
        file_name="outcomes.csv",
        size=len(content),
        requested_by=hr_admin.user,
    )

    def progress() -> OutcomeImport:
        return OutcomeImport.objects.get(pk=job.pk)

    first.wait_until(lambda: progress().status == OutcomeImport.Status.RUNNING, timeout=30)
    received = time.monotonic()
    first.wait_until(lambda: progress().rows_read > 0, timeout=60)
    first.kill()
    killed_at = progress()
    assert killed_at.status == OutcomeImport.Status.RUNNING
    assert 0 < killed_at.rows_read < ROWS
    assert OutcomeRecord.objects.filter(import_job=job).count() == killed_at.rows_accepted

    # The message is unacknowledged; the next worker to start puts it back on the queue once it
    # is older than the visibility timeout (kombu restores such messages when it starts polling).
    time.sleep(max(0.0, VISIBILITY_TIMEOUT - (time.monotonic() - received)))
    second = worker_factory()
    second.ready()
    second.wait_until(lambda: progress().is_finished, timeout=45, every=0.2)

    job.refresh_from_db()
    assert job.status == OutcomeImport.Status.DONE, job.message
    assert job.attempts == 2
    assert job.rows_read == ROWS
    imported = list(
        OutcomeRecord.objects.filter(import_job=job).values_list("external_id", flat=True)
    )
    assert len(imported) == len(set(imported)) == len(good) == job.rows_accepted
    assert set(imported) == good
    assert job.duplicates == 0
    assert set(OutcomeImportError.objects.filter(job=job).values_list("row", flat=True)) == (
        bad_rows
    )
    assert job.rows_rejected == len(bad_rows) == 101
