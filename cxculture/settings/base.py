"""Settings shared by every environment.

Every value that differs between machines comes from the environment (django-environ), with
`DJANGO_` / `CXC_` prefixes. With nothing set, cxculture runs on SQLite with Celery tasks run
eagerly, so the demo needs nothing but Python.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "cxculture.people",
    "surveys",
    "cxculture.outcomes",
    "recognition",
    "cxculture.actions",
    "cxculture.audit",
    "cxculture.jobs",
    "cxculture.insights",
    "cxculture.apps.CxcultureConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "cxculture.lib.api.RefuseNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "cxculture.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, so it turns a lockout flagged during sign-in into the lockout answer.
    "axes.middleware.AxesMiddleware",
]

# Content Security Policy (Django 6): scripts only from this origin or with the per-request
# nonce, so no inline script runs on the product's pages. Inline style attributes are allowed
# (heatmap cells colour themselves); htmx's own indicator styles are switched off in base.html.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

ROOT_URLCONF = "cxculture.urls"
WSGI_APPLICATION = "cxculture.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "cxculture.navigation.viewer_and_navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Keep connections open between requests: a new PostgreSQL connection per request costs
# more than the request itself (DESIGN.md, "Scale").
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CXC_DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: the product's queries are short, and PostgreSQL compiles any whose estimated cost
    # passes jit_above_cost. The dashboard's leaders query spent 300 of its 420 ms compiling at
    # enterprise size (bench, 2026-12-06). PGOPTIONS or a DSN option can still turn it on.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login lockout (django-axes): the axes backend refuses a locked username + IP combination before
# any password is checked, so the right password is refused during the cool-off too.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    # Single sign-on with OpenID Connect; answers nothing unless CXC_OIDC_* is configured.
    "cxculture.people.oidc.DirectoryOIDCBackend",
]
AXES_FAILURE_LIMIT = env.int("CXC_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("CXC_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client's address (lockout, audit log): REMOTE_ADDR, or behind this many reverse proxies
# the address in X-Forwarded-For that the outermost proxy added (entries to its left, which a
# client can forge, are ignored).
CXC_TRUSTED_PROXY_COUNT = env.int("CXC_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "cxculture.lib.addresses.client_ip"
# One message for every lockout: it never says whether the username exists.
AXES_COOLOFF_MESSAGE = "Too many failed sign-in attempts. Try again later."
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("CXC_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# htmx and Chart.js come from the npm registry (package-lock.json) and are served from
# node_modules as static files: no CDN, so the product runs air-gapped.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.path("CXC_MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"

# Email: console in the demo; in production an SMTP URL such as
# DJANGO_EMAIL_URL=smtp+tls://user:password@mail.example.com:587 (Django 6.1 MAILERS).


def mailers_from_email_url(config: dict) -> dict:
    """Django 6.1 MAILERS from django-environ's parsed email URL."""
    backend = config["EMAIL_BACKEND"]
    options: dict = {}
    if backend.endswith("smtp.EmailBackend"):
        options = {
            "host": config["EMAIL_HOST"],
            "port": config["EMAIL_PORT"],
            "username": config["EMAIL_HOST_USER"],
            "password": config["EMAIL_HOST_PASSWORD"],
            "use_tls": config.get("EMAIL_USE_TLS", False),
            "use_ssl": config.get("EMAIL_USE_SSL", False),
            "timeout": env.int("DJANGO_EMAIL_TIMEOUT", default=10),
        }
    elif backend.endswith("filebased.EmailBackend"):
        options = {"file_path": config["EMAIL_FILE_PATH"]}
    return {"default": {"BACKEND": backend, "OPTIONS": options}}


MAILERS = mailers_from_email_url(env.email_url("DJANGO_EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="cxculture <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first, so an anonymous call gets 401 with `WWW-Authenticate: Token` (not 403).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cxculture.people.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON nested beyond what any request needs is a 400, not a RecursionError (lib/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "cxculture.lib.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "cxculture.lib.api.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("CXC_THROTTLE_ANON", default="60/minute"),
        "user": env.str("CXC_THROTTLE_USER", default="1200/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "cxculture.lib.schema.AutoSchema",
    "EXCEPTION_HANDLER": "cxculture.lib.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# API tokens (django-rest-knox): stored as SHA-512 digests, sent as `Authorization: Token <key>`,
# ended by their lifetime, signing out, a password change and deactivation.
KNOX_TOKEN_MODEL = "people.ApiToken"  # noqa: S105 - a model name
CXC_API_TOKEN_TTL_HOURS = env.int("CXC_API_TOKEN_TTL_HOURS", default=24)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=CXC_API_TOKEN_TTL_HOURS),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "cxculture API",
    "DESCRIPTION": (
        "Employee engagement linked to customer outcomes. Errors are "
        '`{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI from the drf-spectacular-sidecar package, not a CDN: it must run air-gapped.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `kind` or `status`: name each enum in the schema after its model.
    "ENUM_NAME_OVERRIDES": {
        "DirectorySyncKindEnum": "cxculture.people.models.DirectorySync.Kind",
        "DirectorySyncStatusEnum": "cxculture.people.models.DirectorySync.Status",
        "RecognitionKindEnum": "recognition.models.Recognition.Kind",
        "MetricKindEnum": "cxculture.outcomes.models.Metric.Kind",
        "OutcomeImportStatusEnum": "cxculture.outcomes.models.OutcomeImport.Status",
        "SurveyQuestionKindEnum": "surveys.models.Question.Kind",
        "SurveyRunStatusEnum": "surveys.models.SurveyRun.Status",
        "ActionStatusEnum": "cxculture.actions.models.Action.Status",
        "ActionSourceKindEnum": "cxculture.actions.models.Action.SourceKind",
        "DriverEnum": "surveys.models.Driver",
    },
}

# --- Cache -----------------------------------------------------------------------------------
CACHES = {"default": env.cache("CXC_CACHE_URL", default="locmemcache://")}

# --- Celery ------------------------------------------------------------------------------------
# Without a broker, tasks run eagerly in the calling process so the demo needs nothing else.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = env.str("CXC_CELERY_QUEUE", default="celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CXC_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CXC_TASK_SOFT_TIME_LIMIT", default=25 * 60)
# A task that is not acknowledged within the visibility timeout is redelivered (a worker killed
# mid-task, with acks_late, leaves its message unacknowledged); nothing may be scheduled
# (countdown/eta) further out than this, so keep it above the longest retry backoff (600 s).
# tests/integration lowers it for a worker it kills, to see the redelivery in seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CXC_BROKER_VISIBILITY_TIMEOUT", default=60 * 60)
}
CELERY_TIMEZONE = TIME_ZONE
# A task that failed (or was redelivered) this many times goes to the dead-letter table.
CXC_TASK_MAX_ATTEMPTS = env.int("CXC_TASK_MAX_ATTEMPTS", default=5)
# How often the beat's sweep notifies new recognitions (a give publishes no message), and the
# most it takes at once (oldest first; a backlog drains over the next sweeps).
CXC_RECOGNITION_NOTIFY_SECONDS = env.int("CXC_RECOGNITION_NOTIFY_SECONDS", default=10)
CXC_RECOGNITION_NOTIFY_BATCH = env.int("CXC_RECOGNITION_NOTIFY_BATCH", default=500)
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # Pulse surveys. Each task is idempotent (runs change state with conditional updates and
    # every email is claimed once), so they run hourly and a missed hour costs nothing.
    "surveys-close-ended-runs": {
        "task": "surveys.tasks.survey_runs_close_ended_task",
        "schedule": crontab(minute=5),
    },
    "surveys-open-due-runs": {
        "task": "surveys.tasks.survey_runs_open_due_task",
        "schedule": crontab(minute=15, hour="7-18"),
    },
    "surveys-send-reminders": {
        "task": "surveys.tasks.survey_reminders_send_task",
        "schedule": crontab(minute=45, hour="9-18"),
    },
    "people-expire-stale-directory-syncs": {
        "task": "cxculture.people.tasks.directory_syncs_expire_task",
        "schedule": timedelta(hours=1),
    },
    # Allowances and manager budgets for the new month. Every hour of the 1st, because the run
    # is idempotent (each account records the month it was last reset for) and a missed hour
    # must not leave anyone without points; giving also resets a stale allowance on its own.
    "recognition-monthly-points-reset": {
        "task": "recognition.tasks.points_monthly_reset_task",
        "schedule": crontab(minute=5, hour="*", day_of_month="1"),
    },
    # Gives publish no message: the sweep notifies recognitions not yet notified (receivers'
    # emails, then the webhook), claiming each step, so overlapping sweeps send nothing twice.
    # A sweep not started within its interval (no worker up) expires instead of piling up.
    "recognition-notify-given": {
        "task": "recognition.tasks.recognitions_notify_pending_task",
        "schedule": timedelta(seconds=CXC_RECOGNITION_NOTIFY_SECONDS),
        "options": {"expires": CXC_RECOGNITION_NOTIFY_SECONDS},
    },
    "recognition-purge-idempotency-keys": {
        "task": "recognition.tasks.idempotency_keys_purge_task",
        "schedule": timedelta(hours=1),
    },
    # Imports whose worker died (or whose message was lost) are picked up again; resuming is
    # safe because every batch commits with its progress.
    "outcomes-resume-stalled-imports": {
        "task": "cxculture.outcomes.tasks.outcome_imports_resume_stalled_task",
        "schedule": timedelta(minutes=5),
    },
    # Ingestion keeps rollups current; this recomputes the last days from the raw records as a
    # safety net (records changed outside the services, a time zone change).
    "outcomes-refresh-recent-rollups": {
        "task": "cxculture.outcomes.tasks.outcome_rollups_refresh_task",
        "schedule": crontab(minute=30, hour=2),
    },
    # Recognition and exception rollups (kept by the services): recounted from the raw rows, as
    # a safety net and to follow teams moved in the tree since they were counted.
    "recognition-rebuild-rollups": {
        "task": "recognition.tasks.recognition_rollups_rebuild_task",
        "schedule": crontab(minute=45, hour=2),
    },
    # Actions: after a run closes, managers with reportable results are asked to commit an
    # action (once per run and manager); owners of overdue actions are reminded (once per action
    # and overdue period). Both are claimed in the database, so a repeated run sends nothing.
    "actions-send-prompts": {
        "task": "cxculture.actions.tasks.action_prompts_send_task",
        "schedule": crontab(minute=20, hour="8-17"),
    },
    "actions-remind-overdue": {
        "task": "cxculture.actions.tasks.actions_remind_overdue_task",
        "schedule": crontab(minute=0, hour=8),
    },
}

# --- cxculture -------------------------------------------------------------------------------
# Rate limits on creating things (cxculture.lib.ratelimit: an atomic counter per user and
# fixed window, shared by every process when the cache is Redis). Over the limit: 429 with
# Retry-After.
CXC_RATELIMIT_RECOGNITION = env.str("CXC_RATELIMIT_RECOGNITION", default="60/minute")
CXC_RATELIMIT_EXCEPTION = env.str("CXC_RATELIMIT_EXCEPTION", default="60/minute")
CXC_RATELIMIT_OUTCOME_IMPORT = env.str("CXC_RATELIMIT_OUTCOME_IMPORT", default="30/minute")
# Survey answers sent with an emailed link are counted per link (a hash of its token), so one
# office address does not throttle a whole company; anonymous answers per address have only a
# high ceiling.
CXC_THROTTLE_SURVEY_LINK = env.str("CXC_THROTTLE_SURVEY_LINK", default="10/minute")
CXC_THROTTLE_SURVEY_SUBMIT_IP = env.str("CXC_THROTTLE_SURVEY_SUBMIT_IP", default="6000/minute")
# Links in emails (survey invitations, notifications) start with the address people reach the
# site at; the demo serves http://127.0.0.1:8000.
CXC_BASE_URL = env.str("CXC_BASE_URL", default="http://127.0.0.1:8000")
# Survey answers wait sealed (AES-GCM) until their run closes (cxculture/lib/sealing.py). The key
# is derived from SECRET_KEY unless set here; keep it out of the database and its backups.
CXC_RESPONSE_SEAL_KEY = env.str("CXC_RESPONSE_SEAL_KEY", default="")
# Single sign-on with OpenID Connect (cxculture/people/oidc.py, mozilla-django-oidc). On when a
# client id, a secret and either the issuer (endpoints read from its discovery document) or the
# explicit endpoints are set. People are matched to the directory, never created.
CXC_OIDC_ISSUER = env.str("CXC_OIDC_ISSUER", default="")
CXC_OIDC_CLIENT_ID = env.str("CXC_OIDC_CLIENT_ID", default="")
CXC_OIDC_CLIENT_SECRET = env.str("CXC_OIDC_CLIENT_SECRET", default="")
CXC_OIDC_AUTHORIZATION_ENDPOINT = env.str("CXC_OIDC_AUTHORIZATION_ENDPOINT", default="")
CXC_OIDC_TOKEN_ENDPOINT = env.str("CXC_OIDC_TOKEN_ENDPOINT", default="")
CXC_OIDC_USERINFO_ENDPOINT = env.str("CXC_OIDC_USERINFO_ENDPOINT", default="")
CXC_OIDC_JWKS_ENDPOINT = env.str("CXC_OIDC_JWKS_ENDPOINT", default="")
CXC_OIDC_SIGN_ALGO = env.str("CXC_OIDC_SIGN_ALGO", default="RS256")
CXC_OIDC_SCOPES = env.str("CXC_OIDC_SCOPES", default="openid email profile")
# The name on the sign-in button: "Sign in with <name>".
CXC_OIDC_PROVIDER_NAME = env.str("CXC_OIDC_PROVIDER_NAME", default="single sign-on")
# Empty: people are matched by e-mail (case-insensitive). A claim name (such as
# "employee_number"): matched by that claim against the directory's external id instead.
CXC_OIDC_EXTERNAL_ID_CLAIM = env.str("CXC_OIDC_EXTERNAL_ID_CLAIM", default="")
CXC_OIDC_TIMEOUT_SECONDS = env.float("CXC_OIDC_TIMEOUT_SECONDS", default=10.0)
# People created by a directory sync are e-mailed a link to choose a password — by default
# only when single sign-on is off (people of an organisation with one sign in there).
CXC_DIRECTORY_SYNC_SEND_INVITATIONS = env.bool(
    "CXC_DIRECTORY_SYNC_SEND_INVITATIONS",
    default=not (CXC_OIDC_CLIENT_ID and CXC_OIDC_CLIENT_SECRET),
)
# Directory sync: files above this many bytes are processed by a Celery worker, not in the
# request; nothing above the hard limit is read at all.
CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES = env.int(
    "CXC_DIRECTORY_SYNC_INLINE_MAX_BYTES", default=256 * 1024
)
CXC_DIRECTORY_SYNC_MAX_BYTES = env.int("CXC_DIRECTORY_SYNC_MAX_BYTES", default=10 * 1024 * 1024)
# A sync that would deactivate more than this share of active people needs confirmation.
CXC_DIRECTORY_SYNC_DEACTIVATION_CONFIRM_SHARE = env.float(
    "CXC_DIRECTORY_SYNC_DEACTIVATION_CONFIRM_SHARE", default=0.40
)

# Recognition and points (DESIGN.md, "Points ledger").
CXC_RECOGNITION_MONTHLY_ALLOWANCE = env.int("CXC_RECOGNITION_MONTHLY_ALLOWANCE", default=100)
# At most this share of a monthly allowance may go to one person in a month.
CXC_RECOGNITION_RECEIVER_CAP_SHARE = env.float("CXC_RECOGNITION_RECEIVER_CAP_SHARE", default=0.40)
# Points per unit of currency, for display only (10 points = 1.00).
CXC_RECOGNITION_POINTS_PER_CURRENCY_UNIT = env.int(
    "CXC_RECOGNITION_POINTS_PER_CURRENCY_UNIT", default=10
)
CXC_RECOGNITION_CURRENCY = env.str("CXC_RECOGNITION_CURRENCY", default="GBP")
# Two people who each gave the other at least this many points within the window are listed
# for HR (not blocked).
CXC_RECOGNITION_RECIPROCAL_MIN_POINTS = env.int("CXC_RECOGNITION_RECIPROCAL_MIN_POINTS", default=30)
CXC_RECOGNITION_RECIPROCAL_DAYS = env.int("CXC_RECOGNITION_RECIPROCAL_DAYS", default=30)
CXC_RECOGNITION_NOT_RECOGNISED_DAYS = env.int("CXC_RECOGNITION_NOT_RECOGNISED_DAYS", default=60)
# How long the culture dashboard keeps its figures per scope, department and period (0: never).
CXC_DASHBOARD_CACHE_SECONDS = env.int("CXC_DASHBOARD_CACHE_SECONDS", default=300)
# Idempotency keys are remembered this long; a retry after that is a new request.
CXC_IDEMPOTENCY_KEY_TTL_HOURS = env.int("CXC_IDEMPOTENCY_KEY_TTL_HOURS", default=24)
# A Slack-compatible incoming webhook for organisation-visible recognitions (empty: off).
CXC_SLACK_WEBHOOK_URL = env.str("CXC_SLACK_WEBHOOK_URL", default="")
CXC_WEBHOOK_TIMEOUT_SECONDS = env.float("CXC_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
CXC_WEBHOOK_ATTEMPTS = env.int("CXC_WEBHOOK_ATTEMPTS", default=4)

# Customer outcomes (DESIGN.md, "Customer outcomes"). Nothing above the size limit is read.
CXC_OUTCOME_IMPORT_MAX_BYTES = env.int("CXC_OUTCOME_IMPORT_MAX_BYTES", default=200 * 1024 * 1024)
# Rows per committed batch: each batch commits with its progress counters and rejected rows.
# A batch is the worker's working set (peak RSS stays flat whatever the file's size); larger
# batches add to each daily rollup cell once per batch instead of once per few rows.
CXC_OUTCOME_IMPORT_BATCH_SIZE = env.int("CXC_OUTCOME_IMPORT_BATCH_SIZE", default=20_000)
# Uploads wait for a worker in the default storage (STORAGES["default"]), or, when this names a
# directory, in a FileSystemStorage there. Workers on other machines need storage they can all
# read (a shared volume or an S3-compatible default storage). Tests use InMemoryStorage, which a
# worker process cannot see: tests/integration sets this for itself and for its worker.
CXC_OUTCOME_IMPORT_DIR = env.str("CXC_OUTCOME_IMPORT_DIR", default="")
# Rejected rows kept per import (all are counted).
CXC_OUTCOME_IMPORT_MAX_STORED_ERRORS = env.int(
    "CXC_OUTCOME_IMPORT_MAX_STORED_ERRORS", default=100_000
)
# An import without progress for this long is handed to a worker again, at most this many times.
CXC_OUTCOME_IMPORT_STALL_MINUTES = env.int("CXC_OUTCOME_IMPORT_STALL_MINUTES", default=10)
CXC_OUTCOME_IMPORT_MAX_ATTEMPTS = env.int("CXC_OUTCOME_IMPORT_MAX_ATTEMPTS", default=5)
# Signed webhooks (sources with a signing secret): how far the signed timestamp may be from now.
CXC_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS = env.int(
    "CXC_WEBHOOK_SIGNATURE_TOLERANCE_SECONDS", default=300
)
# Records per request on the JSON endpoint (POST /api/v1/outcomes/).
CXC_OUTCOME_BATCH_MAX_RECORDS = env.int("CXC_OUTCOME_BATCH_MAX_RECORDS", default=1000)
# The nightly rollup refresh recomputes this many recent days.
CXC_OUTCOME_ROLLUP_REFRESH_DAYS = env.int("CXC_OUTCOME_ROLLUP_REFRESH_DAYS", default=3)

# Pulse surveys (DESIGN.md, "Survey anonymity"). Invitation emails are sent by chunk tasks of
# this many invitations.
CXC_SURVEY_INVITATION_CHUNK_SIZE = env.int("CXC_SURVEY_INVITATION_CHUNK_SIZE", default=500)

# Insights: a policy approved as an exception at least this often, whose "yes" customers did
# better than the baseline, is flagged "revisit this policy".
CXC_INSIGHTS_REVISIT_MIN_APPROVED = env.int("CXC_INSIGHTS_REVISIT_MIN_APPROVED", default=10)
# ...and only when both the yes-group and the baseline have at least this many outcome records
# of a metric and the 95% CI of their difference excludes zero; otherwise "not enough data".
CXC_INSIGHTS_MIN_GROUP_N = env.int("CXC_INSIGHTS_MIN_GROUP_N", default=30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("CXC_LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # axes announces itself at INFO on every start and logs each login; keep warnings.
        "axes": {"level": "WARNING"},
    },
}

# Actions (DESIGN.md, "Actions"): managers are asked to commit an action within this many days
# of a run closing; follow-through looks at this many latest closed runs.
CXC_ACTION_PROMPT_DAYS = env.int("CXC_ACTION_PROMPT_DAYS", default=14)
CXC_ACTION_FOLLOW_THROUGH_RUNS = env.int("CXC_ACTION_FOLLOW_THROUGH_RUNS", default=12)
