"""`make bench`: the hot paths against a seeded PostgreSQL, each next to a floor from the same run.

Serves the app with gunicorn (bench.settings: production settings over plain HTTP, plus the
floors in bench/urls.py), drives it from this process over keep-alive connections, runs the
invitation fan-out on two Celery worker processes over Redis, and prints one table; the same
table goes to bench/results/latest.json (git-ignored) to compare runs. See bench/README.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxbench make bench
    make bench BENCH_ARGS="--scale 0.1"                         # 10% of the requests and rows
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxbench_ent \
        make bench BENCH_ARGS="--profile enterprise --scale 0.1"  # 2,000 people, 200 teams

The database named in DATABASE_URL is created if missing, migrated and seeded with
`seed_demo --profile <profile> --scale <seed scale>` (the demo profile is always seeded whole;
the enterprise profile at `--scale` unless `--seed-scale` says otherwise). One database per
profile: the seeder refuses to mix them. Celery messages go to BENCH_REDIS_URL (default
redis://127.0.0.1:6379/15), which the bench empties before and after.
"""

import argparse
import csv
import http.client
import io
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlparse

if TYPE_CHECKING:
    from django.db.models import Model, QuerySet

M = TypeVar("M", bound="Model")

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DJANGO_EMAIL_URL": "dummymail://",
    # As in production, the web process enqueues tasks (notifications after a give) instead of
    # running them inside the request. Workers run only during the fan-out rows, so the POST
    # rows measure the request path; the queue is emptied afterwards.
    "CELERY_BROKER_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
    # As in production (README, "Running in production"), every web process shares one cache:
    # closed runs' snapshots and the dashboard's figures are built once, not once per worker.
    "CXC_CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/14"),
}


@dataclass
class Row:
    path: str
    figure: str
    floor: str
    ratio: str = ""
    queries: str = ""
    details: dict = field(default_factory=dict)


# --- Load driver -----------------------------------------------------------------------------


@dataclass
class Load:
    latencies_ms: list[float]
    seconds: float
    errors: int

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, int(len(ordered) * 0.95) - 1)]

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds


def drive(
    base: str,
    method: str,
    path: str,
    *,
    total: int,
    concurrency: int = 4,
    headers: Callable[[int], dict] = lambda i: {},
    body: Callable[[int], dict | None] = lambda i: None,
) -> Load:
    """Send `total` requests from `concurrency` threads, each on its own keep-alive connection."""
    url = urlparse(base)
    host = url.hostname or "127.0.0.1"
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection(host, url.port, timeout=60)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            payload = body(index)
            data = json.dumps(payload).encode() if payload is not None else None
            head = {"Content-Type": "application/json", **headers(index)}
            started = time.perf_counter()
            try:
                connection.request(method, path, body=data, headers=head)
                response = connection.getresponse()
                response.read()
                failed = response.status >= 400
            except OSError:  # a timeout or a dropped connection counts as an error
                connection.close()
                connection = http.client.HTTPConnection(host, url.port, timeout=60)
                failed = True
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                errors += failed
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(latencies, time.perf_counter() - started, errors)


def _always(headers: dict) -> Callable[[int], dict]:
    """The same headers for every request of a load."""
    return lambda i: headers


def timed_sql(sql: str, params: list, repeat: int) -> float:
    """Median milliseconds of running `sql` (the raw aggregate a page shows)."""
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            started = time.perf_counter()
            cursor.execute(sql, params)
            cursor.fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# --- Setup -------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def query_count(client, path: str, *, method: str = "get", ok: int = 200, **kwargs) -> int:
    """Queries one request issues (in this process, same settings as the server)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(path, **kwargs)
    if response.status_code != ok:
        raise SystemExit(f"{path} answered {response.status_code} to the query count")
    return len(captured)


def start_server(port: int) -> subprocess.Popen:
    process = subprocess.Popen(  # noqa: S603 - our own server
        [
            sys.executable,
            "-m",
            "gunicorn",
            "cxculture.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--keep-alive",
            "30",
            # A request that builds a cold snapshot of 2,000 teams may take longer than
            # gunicorn's default 30 s; the bench measures it rather than killing the worker.
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/bench/bare/")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("gunicorn did not answer within 30 s")


# --- The measured paths ------------------------------------------------------------------------


def _latency_row(path: str, load: Load, floor_ms: float, floor: str, queries: object) -> Row:
    return Row(
        path,
        f"p50 {load.p50:.1f} / p95 {load.p95:.1f} ms",
        floor,
        ratio=f"{load.p50 / floor_ms:.1f}x floor",
        queries=str(queries),
        details={
            "p50_ms": load.p50,
            "p95_ms": load.p95,
            "rps": load.rps,
            "floor_ms": floor_ms,
            "queries": queries,
            "requests": len(load.latencies_ms),
            "errors": load.errors,
        },
    )


HEATMAP_SQL = (
    "SELECT r.team_path, r.tenure_band, r.location, r.role_family, a.question_id, "
    "count(a.value), sum(a.value), count(*) FILTER (WHERE a.value >= 4), "
    "count(*) FILTER (WHERE a.value >= 7), count(*) FILTER (WHERE a.value >= 9), "
    "count(*) FILTER (WHERE a.value <= 6) "
    "FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id "
    "WHERE r.run_id = %s AND a.value IS NOT NULL "
    "GROUP BY r.team_path, r.tenure_band, r.location, r.role_family, a.question_id"
)


def dashboard_sql(ctx: dict) -> list[tuple[str, str, list]]:
    """The aggregates the culture dashboard shows, as plain SQL over the same tables."""
    runs = ctx["dashboard_runs"] or [ctx["run_id"]]
    since = ctx["since"]
    return [
        (
            "engagement trend: answers per run and question",
            "SELECT r.run_id, a.question_id, count(a.value), count(*) FILTER (WHERE a.value >= 4) "
            "FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id "
            "WHERE r.run_id = ANY(%s) AND a.value IS NOT NULL GROUP BY r.run_id, a.question_id",
            [runs],
        ),
        ("heatmap of the latest run (cells)", HEATMAP_SQL, [runs[-1]]),
        (
            "participation per run and team",
            "SELECT run_id, team_path, count(*), count(responded_on) FROM surveys_invitation "
            "WHERE run_id = ANY(%s) GROUP BY run_id, team_path",
            [runs],
        ),
        (
            # From each person's last recognition, as the dashboard reads it (kept on give).
            "recognition reach (30/90 days)",
            "SELECT count(*), count(*) FILTER (WHERE l.recognised_at >= now() - interval "
            "'30 days'), count(*) FILTER (WHERE l.recognised_at >= now() - interval '90 days') "
            "FROM people_employee e LEFT JOIN recognition_lastrecognition l "
            "ON l.employee_id = e.id WHERE e.is_active",
            [],
        ),
        (
            "recognition flow and values",
            "SELECT count(DISTINCT r.id), count(DISTINCT r.id) FILTER (WHERE rr.team_id <> "
            "r.giver_team_id) FROM recognition_recognitionreceiver rr JOIN "
            "recognition_recognition r ON r.id = rr.recognition_id WHERE r.reversed_at IS NULL "
            "AND r.created_at >= %s",
            [since],
        ),
        (
            "policy exceptions",
            "SELECT count(*), count(*) FILTER (WHERE status IN ('approved', "
            "'approved_with_coaching')), sum(cost) FROM recognition_policyexception "
            "WHERE occurred_on >= %s",
            [since.date()],
        ),
        (
            "outcomes per team (rollup)",
            "SELECT metric_id, team_id, sum(count), sum(sum) FROM outcomes_dailyrollup "
            "WHERE day >= %s GROUP BY metric_id, team_id",
            [since.date()],
        ),
    ]


def bench_pages(base: str, n: int, ctx: dict, rows: list[Row]) -> None:
    cookie = {"Cookie": f"sessionid={ctx['hr_session']}"}
    token = {"Authorization": f"Token {ctx['hr_token']}"}
    queries = ctx["queries"]
    bare = drive(base, "GET", "/bench/bare/", total=n)
    select = drive(
        base, "GET", f"/bench/select/?id={ctx['team_id']}", total=n, headers=lambda i: token
    )
    rows.append(
        Row(
            "minimal Django view (floor)",
            f"p50 {bare.p50:.1f} / p95 {bare.p95:.1f} ms",
            f"{bare.rps:.0f} req/s",
            queries="0",
            details={"p50_ms": bare.p50, "p95_ms": bare.p95, "rps": bare.rps},
        )
    )
    rows.append(
        Row(
            "DRF view, one indexed SELECT (floor)",
            f"p50 {select.p50:.1f} / p95 {select.p95:.1f} ms",
            f"{select.rps:.0f} req/s",
            queries=str(queries.get("/bench/select/", "")),
            details={"p50_ms": select.p50, "p95_ms": select.p95, "rps": select.rps},
        )
    )
    slow = max(20, n // 10)

    # Executive (culture) dashboard, page and API, against its aggregates in plain SQL.
    statements = [
        (label, timed_sql(sql, params, repeat=3)) for label, sql, params in dashboard_sql(ctx)
    ]
    sql_ms = sum(ms for _, ms in statements)
    floor = sql_ms + bare.p50
    for label, path, headers in (
        ("executive dashboard (page)", "/insights/culture/", cookie),
        ("executive dashboard (API)", "/api/v1/insights/culture/", token),
    ):
        load = drive(base, "GET", path, total=slow, headers=_always(headers))
        row = _latency_row(
            label,
            load,
            floor,
            f"raw SQL {sql_ms:.1f} ms ({len(statements)} aggregates) + minimal view "
            f"{bare.p50:.1f} ms",
            queries.get(path, ""),
        )
        row.details["sql_ms"] = dict(statements)
        rows.append(row)

    for path, label in (
        ("/insights/culture/", "executive dashboard, figures recomputed (page)"),
        ("/api/v1/insights/culture/", "executive dashboard, figures recomputed (API)"),
    ):
        cold = ctx["recomputed"][path]
        rows.append(
            Row(
                label,
                f"median {cold['median_ms']:.1f} ms of 3, in-process",
                f"raw SQL {sql_ms:.1f} ms + minimal view {bare.p50:.1f} ms",
                ratio=f"{cold['median_ms'] / floor:.1f}x floor",
                queries=str(cold["queries"]),
                details={**cold, "floor_ms": floor},
            )
        )

    # The results page: heatmap of every team, against the GROUP BY of its cells.
    heat_ms = timed_sql(HEATMAP_SQL, [ctx["run_id"]], repeat=5)
    floor = heat_ms + bare.p50
    teams = ctx["run_teams"]
    for label, path, headers in (
        (
            f"survey results heatmap, {teams:,} teams (page)",
            f"/surveys/runs/{ctx['run_id']}/results/",
            cookie,
        ),
        (
            f"survey results heatmap, {teams:,} teams (API)",
            f"/api/v1/survey-runs/{ctx['run_id']}/results/",
            token,
        ),
    ):
        load = drive(base, "GET", path, total=slow, headers=_always(headers))
        row = _latency_row(
            label,
            load,
            floor,
            f"raw SQL {heat_ms:.1f} ms + minimal view {bare.p50:.1f} ms",
            queries.get(path, ""),
        )
        row.details["sql_ms"] = heat_ms
        rows.append(row)

    feed = drive(base, "GET", "/recognition/", total=max(20, n // 5), headers=lambda i: cookie)
    rows.append(
        _latency_row(
            "recognition feed page",
            feed,
            bare.p50,
            f"minimal view {bare.p50:.1f} ms",
            queries.get("/recognition/", ""),
        )
    )


def bench_posts(base: str, n: int, ctx: dict, rows: list[Row]) -> None:
    tokens, people, value_id = ctx["tokens"], ctx["people"], ctx["value_id"]
    insert = drive(
        base,
        "POST",
        "/bench/insert/",
        total=n,
        headers=lambda i: {"Authorization": f"Token {tokens[i % len(tokens)]}"},
        body=lambda i: {"note": i},
    )
    rows.append(
        Row(
            "minimal DRF POST, token auth, one INSERT (floor)",
            f"{insert.rps:.0f} req/s, p95 {insert.p95:.1f} ms",
            "",
            queries=str(ctx["queries"].get("/bench/insert/", "")),
            details={"rps": insert.rps, "p50_ms": insert.p50, "p95_ms": insert.p95},
        )
    )

    def give_body(i: int) -> dict:
        # Giver i (mod people) thanks the next person with 1 point: allowances and the 40%
        # cap per receiver hold for hundreds of gives.
        return {
            "receivers": [people[(i + 1 + i // len(people)) % len(people)]],
            "message": "Thank you for looking after that customer.",
            "values": [value_id],
            "points_per_receiver": 1,
        }

    give = drive(
        base,
        "POST",
        "/api/v1/recognitions/",
        total=n,
        headers=lambda i: {"Authorization": f"Token {tokens[i % len(tokens)]}"},
        body=give_body,
    )
    rows.append(
        Row(
            "give recognition with points (POST)",
            f"{give.rps:.0f} req/s, p95 {give.p95:.1f} ms",
            f"minimal DRF insert {insert.rps:.0f} req/s",
            ratio=f"{give.rps / insert.rps:.0%} of floor",
            queries=str(ctx["queries"].get("give", "")),
            details={
                "rps": give.rps,
                "p95_ms": give.p95,
                "floor_rps": insert.rps,
                "errors": give.errors,
                "requests": n,
                "queries": ctx["queries"].get("give"),
            },
        )
    )
    invitations = ctx["invitation_tokens"][: max(n, 50)]
    answers = ctx["answers"]
    if invitations:
        submit = drive(
            base,
            "POST",
            "/api/v1/responses/",
            total=len(invitations),
            body=lambda i: {"token": invitations[i], "answers": answers},
        )
        rows.append(
            Row(
                "submit a survey response (POST)",
                f"{submit.rps:.0f} req/s, p95 {submit.p95:.1f} ms ({len(invitations)} invitations)",
                f"minimal DRF insert {insert.rps:.0f} req/s",
                ratio=f"{submit.rps / insert.rps:.0%} of floor",
                queries=str(ctx["queries"].get("submit", "")),
                details={
                    "rps": submit.rps,
                    "p95_ms": submit.p95,
                    "floor_rps": insert.rps,
                    "errors": submit.errors,
                    "requests": len(invitations),
                    "queries": ctx["queries"].get("submit"),
                },
            )
        )
    else:
        rows.append(Row("submit a survey response (POST)", "no open invitations", "—"))


# --- Invitation fan-out on two workers ------------------------------------------------------------


def start_workers() -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "cxculture",
            "worker",
            "-c",
            "2",
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return process


def stop_workers(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def purge_queue() -> None:
    import redis

    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not finish within {timeout:.0f} s")
        time.sleep(0.05)


SINGLE_SAMPLE = 2_000  # messages of the one-message-per-person no-op


def bench_fan_out(ctx: dict, rows: list[Row]) -> None:
    """Open a survey run to every active person on two workers, next to a no-op fan-out.

    Both fan-outs have the product's shape: one task enqueues a task per chunk of
    CXC_SURVEY_INVITATION_CHUNK_SIZE ids. The no-op is also run one message per person (the
    slowest way to fan out) for reference, on the first SINGLE_SAMPLE people only: its rate
    is the figure, and all 20,000 took five minutes of every run.
    """
    import redis
    from django.conf import settings
    from django.utils import timezone

    from bench.tasks import COUNTER, bench_noop_fan_out_task, bench_noop_task
    from cxculture.people.models import Employee
    from surveys import services as survey_services
    from surveys.models import Invitation

    client = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
    people = Employee.objects.filter(is_active=True, user__is_active=True).count()
    chunk = settings.CXC_SURVEY_INVITATION_CHUNK_SIZE
    purge_queue()
    workers = start_workers()
    try:
        bench_noop_task.delay([])  # the workers are up once this one has run
        wait_for(lambda: client.get(COUNTER) is not None, 60, "worker start")

        def noop(send: Callable[[], object], total: int) -> float:
            client.set(COUNTER, 0)
            started = time.perf_counter()
            send()
            wait_for(lambda: int(client.get(COUNTER) or 0) >= total, 600, "no-op fan-out")
            return time.perf_counter() - started

        chunked = noop(lambda: bench_noop_fan_out_task.delay(people, chunk), people)
        sample = min(people, SINGLE_SAMPLE)
        single = noop(lambda: [bench_noop_task.delay([i]) for i in range(sample)], sample)
        program = survey_services.survey_program_create(
            name=f"Bench fan-out {time.strftime('%Y-%m-%d %H:%M:%S')}",
            starts_on=timezone.localdate(),
            cadence="monthly",
        )
        started = time.perf_counter()
        run = survey_services.survey_run_start_now(program=program)
        opened = time.perf_counter() - started
        with_email = Invitation.objects.filter(run=run).exclude(employee__user__email="").count()
        wait_for(
            lambda: Invitation.objects.filter(run=run, sent_on__isnull=False).count() >= with_email,
            1800,
            "invitation fan-out",
        )
        seconds = time.perf_counter() - started
    finally:
        stop_workers(workers)
        purge_queue()
    rate, floor = with_email / seconds, people / chunked
    rows.append(
        Row(
            f"invitation fan-out, {with_email:,} people, 2 workers",
            f"{seconds:.1f} s, {rate:,.0f} invitations/s (opening the run {opened:.1f} s)",
            f"no-op fan-out {floor:,.0f}/s in chunks of {chunk} "
            f"({sample / single:,.0f}/s one message each)",
            ratio=f"{rate / floor:.0%} of no-op",
            details={
                "seconds": seconds,
                "invitations": with_email,
                "rate": rate,
                "open_seconds": opened,
                "noop_chunked_rate": floor,
                "noop_single_rate": sample / single,
                "chunk": chunk,
                "run_id": run.pk,
            },
        )
    )
    ctx["fan_out_run"] = run.pk


IMPORT_SCRIPT = """
import json, sys, time
import django
django.setup()
from cxculture.outcomes.ingest import jobs
from cxculture.outcomes.models import OutcomeImport

def high_water_mb():
    # VmHWM is this process's own peak: getrusage's ru_maxrss would report the bench
    # process's size, which a child inherits from the parent it was forked from.
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024

path = sys.argv[1]
before = high_water_mb()
started = time.perf_counter()
with open(path, "rb") as handle:
    job, _ = jobs.outcome_import_create(file=handle, file_name="bench.csv",
        size=__import__("os").path.getsize(path), source="bench", requested_by=None)
jobs.outcome_import_run(import_id=job.pk)
seconds = time.perf_counter() - started
job = OutcomeImport.objects.get(pk=job.pk)
print(json.dumps({"seconds": seconds, "accepted": job.rows_accepted, "status": job.status,
                  "peak_mb": high_water_mb(), "baseline_mb": before}))
"""


def bench_import(rows_wanted: int, ctx: dict, rows: list[Row]) -> None:
    from django.db import connection

    path = Path(tempfile.mkdtemp(prefix="cxbench-")) / "outcomes.csv"
    teams = ctx["front_line_teams"]
    run_id = secrets.token_hex(4)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["metric", "value", "occurred_at", "team_external_id", "customer_ref", "external_id"]
        )
        for n in range(rows_wanted):
            writer.writerow(
                [
                    "csat",
                    1 + n % 5,
                    f"2026-0{1 + n % 9}-{1 + n % 28:02d}T10:00:00Z",
                    teams[n % len(teams)],
                    f"CUST-{n % 40000:06d}",
                    f"b{run_id}-{n}",
                ]
            )
    result = json.loads(
        subprocess.run(  # noqa: S603 - our own script
            [sys.executable, "-c", IMPORT_SCRIPT, str(path)],
            cwd=ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    import_rps = result["accepted"] / result["seconds"]

    # The floor: PostgreSQL COPY of the same rows into the same table (then removed again).
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM outcomes_metric WHERE code = 'csat'")
        metric_id = cursor.fetchone()[0]
        cursor.execute("SELECT external_id, id FROM people_team")
        team_ids = dict(cursor.fetchall())
    started = time.perf_counter()
    copy_sql = (
        "COPY outcomes_outcomerecord (metric_id, value, occurred_at, team_id, customer_ref, "
        "interaction_ref, source, external_id, created_at) FROM STDIN"
    )
    with connection.cursor() as cursor, cursor.copy(copy_sql) as copy, path.open() as handle:
        reader = csv.reader(handle)
        next(reader)
        for _metric, value, at, team, customer, external in reader:
            copy.write_row(
                (
                    metric_id,
                    float(value),
                    at,
                    team_ids[team],
                    customer,
                    "",
                    "bench-copy",
                    external,
                    "2026-01-01T00:00:00Z",
                )
            )
    copy_seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM outcomes_outcomerecord WHERE source = 'bench-copy'")
    copy_rps = rows_wanted / copy_seconds
    rows.append(
        Row(
            f"outcome CSV import, {rows_wanted:,} rows",
            f"{import_rps:,.0f} rows/s, peak {result['peak_mb']:.0f} MB",
            f"COPY {copy_rps:,.0f} rows/s",
            ratio=f"{import_rps / copy_rps:.0%} of COPY",
            details=result,
        )
    )


# --- Main --------------------------------------------------------------------------------------


def prepare(profile: str, seed_scale: float) -> dict:
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection

    call_command("migrate", verbosity=0)
    call_command(
        "collectstatic", interactive=False, verbosity=0
    )  # manifest storage, as in production
    started = time.monotonic()
    call_command("seed_demo", profile=profile, scale=seed_scale, stdout=io.StringIO())
    # A database seeded before closed runs stored their published figures gets them now.
    call_command("surveys_summarise_runs", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_ping (id bigserial PRIMARY KEY, note text)"
        )
        # What autovacuum does in production (it is off on this project's CI machine): without
        # it, each run's deleted COPY rows and updated rows stay behind and slow the next run.
        cursor.execute("VACUUM ANALYZE")
    return {"seed_seconds": time.monotonic() - started}


def _first(query: "QuerySet[M]", what: str) -> M:
    """The first row of `query`, or a clear stop when the database has none."""
    found = query.first()
    if found is None:
        raise SystemExit(f"The bench database has no {what}: seed it again (see bench/README.md).")
    return found


def context(ctx: dict) -> dict:
    """Who signs in, what to ask for, and how many queries each measured request issues."""
    import datetime as dt

    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from cxculture.insights.culture import MAX_RUNS
    from cxculture.people.models import CompanyValue, Employee, Team
    from cxculture.people.services import api_token_create
    from surveys import services as survey_services
    from surveys.models import Invitation, Question, Response, SurveyRun

    hr = User.objects.get(email="hr@example.com")
    people = list(
        Employee.objects.filter(is_active=True, user__is_active=True)
        .order_by("pk")
        .select_related("user")[:2000]
    )
    # Expiring tokens, issued the way `POST /api/v1/auth/token/` issues them.
    tokens = [api_token_create(user=p.user)[1] for p in people]
    hr_token = api_token_create(user=hr)[1]
    client = Client()
    client.force_login(hr)
    run = _first(
        SurveyRun.objects.filter(status=SurveyRun.Status.CLOSED).order_by("-closes_on"),
        "a closed survey run",
    )
    since = timezone.now() - dt.timedelta(days=365)
    dashboard_runs = list(
        SurveyRun.objects.filter(status=SurveyRun.Status.CLOSED, closes_on__gte=since.date())
        .order_by("-closes_on", "-id")[:MAX_RUNS]
        .values_list("pk", flat=True)
    )[::-1]
    fan_out_run = ctx.get("fan_out_run")
    open_run = (
        SurveyRun.objects.filter(pk=fan_out_run).first() if fan_out_run is not None else None
    ) or SurveyRun.objects.filter(status=SurveyRun.Status.OPEN).order_by("-opens_on").first()
    waiting = (
        list(
            Invitation.objects.filter(run=open_run, responded_on=None)
            .order_by("pk")
            .values_list("pk", flat=True)[:5000]
        )
        if open_run
        else []
    )
    questions = Question.objects.filter(runs=open_run) if open_run else Question.objects.none()
    answers = [
        {"question": q.pk, "value": 4 if q.kind == "agreement" else 8}
        for q in questions
        if q.kind in ("agreement", "scale_0_10")
    ]
    ctx |= {
        "hr_session": client.cookies["sessionid"].value,
        "hr_token": hr_token,
        "team_id": _first(Team.objects.order_by("pk"), "a team").pk,
        "run_id": run.pk,
        "run_teams": Response.objects.filter(run=run).values("team_path").distinct().count(),
        "dashboard_runs": dashboard_runs,
        "since": since,
        "tokens": tokens,
        "people": [p.pk for p in people],
        "value_id": _first(
            CompanyValue.objects.filter(is_active=True).order_by("pk"), "an active company value"
        ).pk,
        "invitation_tokens": [survey_services.invitation_token(pk) for pk in waiting],
        "answers": answers,
        "front_line_teams": list(
            Team.objects.filter(members__is_front_line=True)
            .values_list("external_id", flat=True)
            .distinct()
        ),
    }
    # Query counts, measured once in this process on warm caches (the second request).
    auth = {"HTTP_AUTHORIZATION": f"Token {hr_token}"}
    pages: dict[str, dict[str, Any]] = {
        f"/surveys/runs/{run.pk}/results/": {},
        f"/api/v1/survey-runs/{run.pk}/results/": auth,
        "/insights/culture/": {},
        "/api/v1/insights/culture/": auth,
        "/recognition/": {},
        f"/bench/select/?id={ctx['team_id']}": auth,
    }
    queries: dict[str, int] = {}
    for path, headers in pages.items():
        client.get(path, **headers)
        queries[path.split("?")[0]] = query_count(client, path, **headers)
    # The dashboard keeps its figures for CXC_DASHBOARD_CACHE_SECONDS, so the load above mostly
    # reads them from the cache: time the request that recomputes them too (closed runs'
    # snapshots stay cached, as they do in production), in this process.
    from django.test import override_settings

    recomputed: dict[str, dict[str, float]] = {}
    with override_settings(CXC_DASHBOARD_CACHE_SECONDS=0):
        for path in ("/insights/culture/", "/api/v1/insights/culture/"):
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                count = query_count(client, path, **pages[path])
                timings.append((time.perf_counter() - started) * 1000)
            recomputed[path] = {"median_ms": statistics.median(timings), "queries": count}
    ctx["recomputed"] = recomputed
    receiver = people[1]
    queries["give"] = query_count(
        client,
        "/api/v1/recognitions/",
        method="post",
        ok=201,
        data={
            "receivers": [receiver.pk],
            "message": "Thanks for the query count.",
            "values": [ctx["value_id"]],
            "points_per_receiver": 1,
        },
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {tokens[0]}",
    )
    if ctx["invitation_tokens"]:
        queries["submit"] = query_count(
            client,
            "/api/v1/responses/",
            method="post",
            ok=201,
            data={"token": ctx["invitation_tokens"].pop(), "answers": answers},
            content_type="application/json",
        )
    queries["/bench/insert/"] = query_count(
        client,
        "/bench/insert/",
        method="post",
        ok=201,
        data={"note": "count"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {tokens[0]}",
    )
    ctx["queries"] = queries
    return ctx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo", choices=["demo", "enterprise"])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="share of the full request counts and of the 1,000,000 import rows "
        "(and of the enterprise profile's size unless --seed-scale is given)",
    )
    parser.add_argument(
        "--seed-scale",
        type=float,
        default=None,
        help="seed_demo --scale (default: 1 for demo, --scale for enterprise)",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skip-fan-out", action="store_true", help="no Celery workers")
    parser.add_argument(
        "--only",
        default="fan-out,pages,posts,import",
        help="comma-separated parts to run (fan-out, pages, posts, import); default: all",
    )
    args = parser.parse_args()
    parts = {part.strip() for part in args.only.split(",")}
    unknown = parts - {"fan-out", "pages", "posts", "import"}
    if unknown:
        parser.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}")
    if args.skip_fan_out:
        parts.discard("fan-out")
    seed_scale = args.seed_scale or (args.scale if args.profile == "enterprise" else 1.0)

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "make bench needs DATABASE_URL pointing at PostgreSQL, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxbench make bench"
        )
    ensure_database(url)
    os.environ.update(BENCH_ENV)
    import redis

    redis.Redis.from_url(os.environ["CXC_CACHE_URL"]).flushdb()  # every run starts cold
    started = time.monotonic()
    ctx = prepare(args.profile, seed_scale)
    requests = max(50, int(2000 * args.scale))
    rows: list[Row] = []
    if "fan-out" in parts:
        bench_fan_out(ctx, rows)
    ctx = context(ctx)
    if parts & {"pages", "posts"}:
        server = start_server(args.port)
        try:
            base = f"http://127.0.0.1:{args.port}"
            if "pages" in parts:
                bench_pages(base, requests, ctx, rows)
            if "posts" in parts:
                bench_posts(base, requests, ctx, rows)
        finally:
            server.terminate()
            server.wait(timeout=20)
            purge_queue()  # the notifications the gives enqueued
    if "import" in parts:
        bench_import(max(10_000, int(1_000_000 * args.scale)), ctx, rows)
    fan_out = [row for row in rows if row.path.startswith("invitation fan-out")]
    rows = [row for row in rows if row not in fan_out] + fan_out

    title = (
        f"cxculture bench — profile {args.profile} (seed scale {seed_scale}), scale {args.scale}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()} "
        f"({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})"
    )
    print(f"\n{title}\n")
    print("| path | figure | floor measured alongside | ratio | queries |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.path} | {row.figure} | {row.floor} | {row.ratio} | {row.queries} |")
    elapsed = time.monotonic() - started
    print(f"\nRun time {elapsed:.0f} s (seeding {ctx['seed_seconds']:.0f} s).")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "title": title,
                "profile": args.profile,
                "scale": args.scale,
                "seed_scale": seed_scale,
                "run_seconds": elapsed,
                "queries": ctx["queries"],
                "rows": [asdict(row) for row in rows],
            },
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
