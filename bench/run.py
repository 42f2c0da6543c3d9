"""`make bench`: the hot paths against a seeded PostgreSQL, each next to a floor from the same run.

Serves the app with gunicorn (bench.settings: production settings over plain HTTP, plus the
floors in bench/urls.py), drives it from this process over keep-alive connections, and prints
one table; the same table goes to bench/results/latest.json (git-ignored) to compare runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxbench make bench
    make bench BENCH_ARGS="--scale 0.1"          # a quick run: 10% of the requests and rows

The database named in DATABASE_URL is created if missing, migrated and seeded with the demo
profile. Paths that are not built yet (the executive dashboard) and the enterprise-size rows
(20,000 people, invitation fan-out on two workers) come with the enterprise profile; the table
says so instead of printing a number.
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
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

BENCH_ENV = {
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DJANGO_SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
    "DJANGO_EMAIL_URL": "dummymail://",
    "CELERY_BROKER_URL": "",  # tasks run eagerly inside the web process
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
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    lock = threading.Lock()

    def worker() -> None:
        nonlocal errors
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                break
            payload = body(index)
            data = json.dumps(payload).encode() if payload is not None else None
            head = {"Content-Type": "application/json", **headers(index)}
            started = time.perf_counter()
            connection.request(method, path, body=data, headers=head)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if response.status >= 400:
                    errors += 1
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(latencies, time.perf_counter() - started, errors)


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


def query_count(client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
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


def bench_pages(base: str, n: int, ctx: dict, rows: list[Row]) -> None:
    cookie = {"Cookie": f"sessionid={ctx['hr_session']}"}
    token = {"Authorization": f"Token {ctx['hr_token']}"}
    bare = drive(base, "GET", "/bench/bare/", total=n)
    select = drive(
        base, "GET", f"/bench/select/?id={ctx['team_id']}", total=n, headers=lambda i: token
    )
    rows.append(
        Row(
            "minimal Django view (floor)",
            f"p50 {bare.p50:.1f} / p95 {bare.p95:.1f} ms",
            f"{bare.rps:.0f} req/s",
            details={"rps": bare.rps},
        )
    )
    rows.append(
        Row(
            "DRF view, one indexed SELECT (floor)",
            f"p50 {select.p50:.1f} / p95 {select.p95:.1f} ms",
            f"{select.rps:.0f} req/s",
        )
    )
    rows.append(Row("executive dashboard (page and API)", "not built yet (issue 8)", "—"))

    heatmap_sql = (
        "SELECT r.team_path, a.question_id, count(a.value), sum(a.value) "
        "FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id "
        "WHERE r.run_id = %s GROUP BY r.team_path, a.question_id"
    )
    sql_ms = timed_sql(heatmap_sql, [ctx["run_id"]], repeat=5)
    for label, path, headers in (
        ("survey results heatmap (page)", f"/surveys/runs/{ctx['run_id']}/results/", cookie),
        ("survey results (API)", f"/api/v1/survey-runs/{ctx['run_id']}/results/", token),
    ):
        load = drive(base, "GET", path, total=max(20, n // 10), headers=lambda i, h=headers: h)
        floor = sql_ms + bare.p50
        rows.append(
            Row(
                label,
                f"p50 {load.p50:.1f} / p95 {load.p95:.1f} ms",
                f"raw SQL {sql_ms:.1f} ms + minimal view {bare.p50:.1f} ms",
                ratio=f"{load.p50 / floor:.1f}x floor",
                queries=str(ctx["queries"].get(path, "")),
                details={
                    "p50": load.p50,
                    "p95": load.p95,
                    "floor_ms": floor,
                    "errors": load.errors,
                },
            )
        )
    feed = drive(base, "GET", "/recognition/", total=max(20, n // 5), headers=lambda i: cookie)
    rows.append(
        Row(
            "recognition feed page",
            f"p50 {feed.p50:.1f} / p95 {feed.p95:.1f} ms",
            f"minimal view {bare.p50:.1f} ms",
            ratio=f"{feed.p50 / bare.p50:.1f}x floor",
            queries=str(ctx["queries"].get("/recognition/", "")),
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
            details={"errors": give.errors, "requests": n},
        )
    )
    invitations = ctx["invitation_tokens"]
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
                details={"errors": submit.errors},
            )
        )


IMPORT_SCRIPT = """
import json, resource, sys, time
import django
django.setup()
from cxculture.outcomes import services
from cxculture.outcomes.models import OutcomeImport
path = sys.argv[1]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
with open(path, "rb") as handle:
    job, _ = services.outcome_import_create(file=handle, file_name="bench.csv",
        size=__import__("os").path.getsize(path), source="bench", requested_by=None)
services.outcome_import_run(import_id=job.pk)
seconds = time.perf_counter() - started
job = OutcomeImport.objects.get(pk=job.pk)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "accepted": job.rows_accepted, "status": job.status,
                  "peak_mb": peak / 1024, "baseline_mb": before / 1024}))
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


def prepare(profile: str) -> dict:
    import django
    from django.core.management import call_command

    django.setup()
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from rest_framework.authtoken.models import Token

    from cxculture.people.models import CompanyValue, Employee, Team
    from surveys import services as survey_services
    from surveys.models import Invitation, Question, SurveyRun

    call_command("migrate", verbosity=0)
    call_command(
        "collectstatic", interactive=False, verbosity=0
    )  # manifest storage, as in production
    call_command("seed_demo", profile=profile, stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_ping (id bigserial PRIMARY KEY, note text)"
        )
    hr = User.objects.get(email="hr@example.com")
    people = list(Employee.objects.filter(is_active=True).order_by("pk").select_related("user"))
    tokens = [Token.objects.get_or_create(user=p.user)[0].key for p in people]
    client = Client()
    client.force_login(hr)
    run = SurveyRun.objects.filter(status=SurveyRun.Status.CLOSED).order_by("-closes_on").first()
    open_run = SurveyRun.objects.filter(status=SurveyRun.Status.OPEN).first()
    waiting = (
        list(
            Invitation.objects.filter(run=open_run, responded_on=None).values_list("pk", flat=True)
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
    paths = [f"/surveys/runs/{run.pk}/results/", "/recognition/"]
    ctx = {
        "hr_session": client.cookies["sessionid"].value,
        "hr_token": Token.objects.get_or_create(user=hr)[0].key,
        "team_id": Team.objects.order_by("pk").first().pk,
        "run_id": run.pk,
        "tokens": tokens,
        "people": [p.pk for p in people],
        "value_id": CompanyValue.objects.order_by("pk").first().pk,
        "invitation_tokens": [survey_services.invitation_token(pk) for pk in waiting],
        "answers": answers,
        "front_line_teams": list(
            Team.objects.filter(members__is_front_line=True)
            .values_list("external_id", flat=True)
            .distinct()
        ),
        "queries": {path: query_count(client, path) for path in paths},
    }
    return ctx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo", choices=["demo"])
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="share of the full request counts and of the 1,000,000 import rows",
    )
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "make bench needs DATABASE_URL pointing at PostgreSQL, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/cxbench make bench"
        )
    ensure_database(url)
    os.environ.update(BENCH_ENV)
    started = time.monotonic()
    ctx = prepare(args.profile)
    requests = max(50, int(2000 * args.scale))
    rows: list[Row] = []
    server = start_server(args.port)
    try:
        base = f"http://127.0.0.1:{args.port}"
        bench_pages(base, requests, ctx, rows)
        bench_posts(base, requests, ctx, rows)
    finally:
        server.terminate()
        server.wait(timeout=20)
    bench_import(max(10_000, int(1_000_000 * args.scale)), ctx, rows)
    rows.append(
        Row("invitation fan-out, 20,000 people, 2 workers", "needs the enterprise profile", "—")
    )

    print(
        f"\ncxculture bench — profile {args.profile}, scale {args.scale}, "
        f"{time.strftime('%Y-%m-%d')}, {platform.node()} ({os.cpu_count()} cores)\n"
    )
    print("| path | figure | floor measured alongside | ratio | queries |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row.path} | {row.figure} | {row.floor} | {row.ratio} | {row.queries} |")
    print(f"\nRun time {time.monotonic() - started:.0f} s.")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "profile": args.profile,
                "scale": args.scale,
                "rows": [asdict(row) for row in rows],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
