"""Lakehouse settings — every value comes from the environment, with defaults that work on a fresh machine.

Sections: core, database, Redis/cache/Celery, API, embeddings and models, domain knobs.
Invalid values fail fast with ImproperlyConfigured.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# pytest (>= 8.2) exports PYTEST_VERSION for the whole session: tests then use their own Redis database
# and Celery queues, so a suite run never consumes or flushes what a running dev stack owns.
TESTING = "PYTEST_VERSION" in os.environ
# Lets two test sessions share one machine (e.g. two checkouts): each gets its own test database and
# Celery queues; give each its own REDIS_DB too.
TEST_RUN_ID = os.environ.get("LAKEHOUSE_TEST_RUN", "")


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    try:
        value = default if raw is None or raw == "" else int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name} must be within [{minimum}, {maximum}], got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float | None = None, maximum: float | None = None) -> float:
    raw = os.environ.get(name)
    try:
        value = default if raw is None or raw == "" else float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name} must be within [{minimum}, {maximum}], got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# ---------------------------------------------------------------------------------------------- core

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "lakehouse-dev-insecure-secret-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "lakehouse.admin_site.LakehouseAdminConfig",  # django.contrib.admin with the console as its site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "django.contrib.postgres",
    "apps.interactions",
    "apps.indexes",
    "apps.workers",
    "apps.evidence",
    "apps.orders",
    "apps.loadtest",
    "apps.playbooks",
    "apps.replay",
    "apps.alerts",
    "apps.console",  # the top layer: pages that compose the other apps (see .importlinter)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Before CommonMiddleware, whose APPEND_SLASH would answer an API path without its slash with a redirect.
    "apps.core.api.slashes.BothSlashFormsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Skips /api/ requests (no API view uses messages): building cookie storage was 5 % of API CPU.
    "apps.core.api.middleware.NonApiMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "lakehouse.urls"
WSGI_APPLICATION = "lakehouse.wsgi.application"

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
            ],
        },
    },
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# Admin and Swagger assets are served straight from the installed apps (WhiteNoise finders), so
# `make run` needs no collectstatic step; set STATIC_ROOT to collect them for another web server.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Log lines are stored text too: credentials, SSNs and card numbers are scrubbed on the handler.
    "filters": {"scrub_secrets": {"()": "apps.interactions.scrubber.ScrubSecretsFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["scrub_secrets"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
    "loggers": {"lakehouse": {"level": env_str("LOG_LEVEL", "INFO")}, "apps": {"level": env_str("LOG_LEVEL", "INFO")}},
}

# ------------------------------------------------------------------------------------------ database

if os.environ.get("DATABASE_URL"):
    DATABASE_URL = os.environ["DATABASE_URL"]
    EMBEDDED_DATABASE = False
else:
    from lakehouse import embedded

    DATABASE_URL = embedded.database_url()
    EMBEDDED_DATABASE = True

DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
# Django's PostgreSQL backend with a cheaper pooled-connection check (lakehouse/postgresql/base.py).
DATABASES["default"]["ENGINE"] = "lakehouse.postgresql"
# A database that is down must answer 503 in about 2 s, not after a 10 s pool wait (SPEC §5):
# libpq's connect timeout (its minimum is 2 s) bounds every connection attempt.
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DB_CONNECT_TIMEOUT", 2, minimum=1)
# Django's psycopg 3 pool: each process keeps warm backends (a fresh PostgreSQL backend costs several
# ms of page faults on its first vector insert). DB_POOL_MAX_SIZE bounds connections per process.
# With the pool, Django turns this into a check of every pooled connection when it is handed out, so
# one left stale by a database restart is replaced instead of reported as "database down"; this
# project's backend makes that check free for a healthy idle connection (lakehouse/postgresql/base.py).
# Without the pool, Django checks a reused connection.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env_bool("DB_POOL", True):
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env_int("DB_POOL_MIN_SIZE", 1, minimum=0),
        "max_size": env_int("DB_POOL_MAX_SIZE", 8, minimum=1),
        # How long a request waits for a pooled connection before its 503.
        "timeout": env_float("DB_POOL_TIMEOUT", 2.0, minimum=0.1),
        # While the database is down the pool retries with exponential backoff (1, 2, 4 … s) until
        # this timeout; psycopg's default of 5 min left requests failing for many seconds after the
        # database came back. A short one makes the next request after recovery try at once.
        "reconnect_timeout": env_float("DB_POOL_RECONNECT_TIMEOUT", 2.0, minimum=0.1),
    }
# Web processes warm each pooled connection once when the pool opens it (lakehouse/postgresql/base.py);
# lakehouse.run turns this on for the web server only.
DB_WARM_CONNECTIONS = env_bool("DB_WARM_CONNECTIONS", False)
DATABASES["default"]["TEST"] = {"NAME": f"test_lakehouse{'_' + TEST_RUN_ID if TEST_RUN_ID else ''}"}

# -------------------------------------------------------------------------------- Redis, cache, Celery

def redis_tls_url(url: str) -> str:
    """A `rediss://` URL with `ssl_cert_reqs` set: Celery's result backend refuses one without it,
    and the default here is the safe one (verify the server's certificate). Other URLs unchanged."""
    if not url.startswith("rediss://") or "ssl_cert_reqs=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}ssl_cert_reqs=required"


REDIS_DB = env_int("REDIS_DB", 1 if TESTING else 0, minimum=0, maximum=15)
if os.environ.get("REDIS_URL"):
    # Password (redis://:PASSWORD@host:6379/0) and TLS (rediss://) come from the URL itself.
    REDIS_URL = redis_tls_url(os.environ["REDIS_URL"])
    EMBEDDED_REDIS = False
else:
    from lakehouse import embedded

    REDIS_URL = embedded.redis_url(REDIS_DB)
    EMBEDDED_REDIS = True

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "lh",
        "TIMEOUT": 3600,
    }
}


def _kombu_url(url: str) -> str:
    """Kombu spells a unix-socket Redis as redis+socket://; redis-py as unix://."""
    if url.startswith("unix://"):
        path, _, query = url[len("unix://"):].partition("?")
        db = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("db", "0")
        return f"redis+socket://{path}?virtual_host={db}"
    return url


CELERY_BROKER_URL = _kombu_url(REDIS_URL)
CELERY_RESULT_BACKEND = _kombu_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600, minimum=10)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 3300, minimum=5)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Sending a task to a broker that is down fails within about a second (one quick retry), so a launch
# answers 503 fast and its job row is marked failed in the same request (apps.core.jobs).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
# Queue names are prefixed under test so a dev worker never takes a test's task (and vice versa).
CELERY_QUEUE_PREFIX = env_str("CELERY_QUEUE_PREFIX", f"test{TEST_RUN_ID}-" if TESTING else "")
CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_QUEUE_PREFIX}default"

# ---------------------------------------------------------------------------------------------- jobs
# A running job beats its heartbeat every JOB_HEARTBEAT_S; one whose heartbeat is older than
# JOB_HEARTBEAT_LIMIT_S (or whose runner's database session is gone) is dead, and the reaper — at
# worker start and every JOB_REAPER_INTERVAL_S from Celery beat — re-queues it (idempotent kinds, up
# to JOB_MAX_RETRIES times) or fails it. Worst case from a dead worker to a true state: limit + interval.
JOB_HEARTBEAT_S = env_float("JOB_HEARTBEAT_S", 10.0, minimum=0.1)
JOB_HEARTBEAT_LIMIT_S = env_float("JOB_HEARTBEAT_LIMIT_S", 60.0, minimum=1.0)
JOB_REAPER_INTERVAL_S = env_float("JOB_REAPER_INTERVAL_S", 60.0, minimum=1.0)
JOB_MAX_RETRIES = env_int("JOB_MAX_RETRIES", 3, minimum=0)
JOB_MAX_ATTEMPTS = JOB_MAX_RETRIES + 1
if JOB_HEARTBEAT_LIMIT_S <= 2 * JOB_HEARTBEAT_S:
    raise ImproperlyConfigured("JOB_HEARTBEAT_LIMIT_S must be more than twice JOB_HEARTBEAT_S")

# ---------------------------------------------------------------------------------------------- API

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.core.api.authentication.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.api.permissions.IsCoordinator"],
    "DEFAULT_RENDERER_CLASSES": ["apps.core.api.renderers.OrjsonRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    # JSON only (SPEC §5); the ingest upload declares its own multipart parser.
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.parsers.BoundedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "apps.core.api.negotiation.FirstRendererContentNegotiation",
    "DEFAULT_METADATA_CLASS": "apps.core.api.metadata.LakehouseMetadata",
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["apps.core.api.filtersets.StrictFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.api.throttling.CoordinatorRateThrottle", "rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "coordinator": env_str("API_THROTTLE_COORDINATOR", "1200/min"),
        "anon": env_str("API_THROTTLE_ANON", "120/min"),
    },
    "EXCEPTION_HANDLER": "apps.core.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.openapi.LakehouseAutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Seconds a process trusts a verified API token without asking the database again (0 disables).
API_TOKEN_CACHE_S = env_int("API_TOKEN_CACHE_S", 30, minimum=0)

SPECTACULAR_SETTINGS = {
    "TITLE": "Lakehouse API",
    "DESCRIPTION": "Staffing operations: worker search, outreach and fill validation, playbooks, evidence, replay.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets ship in a wheel: the docs page works on a machine with no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One component per direction: read-only fields are not asked for in requests, and a request
    # schema shows only what the validating serializer accepts.
    "COMPONENT_SPLIT_REQUEST": True,
    # Every job kind shares one status vocabulary: one enum in the schema.
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "apps.core.choices.JobStatus"},
}

# ------------------------------------------------------------------------------ embeddings and models

EMBEDDING_PROVIDER = env_str("EMBEDDING_PROVIDER", "hash")
if EMBEDDING_PROVIDER not in {"hash", "ollama", "openai", "sentence-transformers"}:
    raise ImproperlyConfigured(f"EMBEDDING_PROVIDER must be hash, ollama, openai or sentence-transformers, got {EMBEDDING_PROVIDER!r}")
EMBEDDING_DIM = env_int("EMBEDDING_DIM", 768, minimum=8, maximum=16000)
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "")
EMBEDDING_TIMEOUT_S = env_float("EMBEDDING_TIMEOUT_S", 10.0, minimum=0.1)
EMBEDDING_BATCH_SIZE = env_int("EMBEDDING_BATCH_SIZE", 64, minimum=1)
EMBEDDING_CACHE_TTL_S = env_int("EMBEDDING_CACHE_TTL_S", 7 * 86400, minimum=60)
# The optional semantic vector (issue 19): a second embedding of the profile text, with its own
# dimension, for hybrid ranking. "" = off (the default: it needs torch, requirements-semantic.txt).
# EMBEDDING_DIM stays the lexical (`hash`) vector's; playbook memory stays on the lexical vectors.
SEMANTIC_EMBEDDING_PROVIDER = env_str("SEMANTIC_EMBEDDING_PROVIDER", "")
SEMANTIC_EMBEDDING_MODEL = env_str("SEMANTIC_EMBEDDING_MODEL", "sentence-transformers/all-MiniLM-L6-v2")
SEMANTIC_EMBEDDING_DIM = env_int("SEMANTIC_EMBEDDING_DIM", 384, minimum=8, maximum=16000)
OLLAMA_URL = env_str("OLLAMA_URL", "http://127.0.0.1:11434")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "http://127.0.0.1:8080")
OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
CHAT_PROVIDER = env_str("CHAT_PROVIDER", "local")
if CHAT_PROVIDER not in {"local", "openai", "ollama"}:
    raise ImproperlyConfigured(f"CHAT_PROVIDER must be local, openai or ollama, got {CHAT_PROVIDER!r}")
CHAT_MODEL = env_str("CHAT_MODEL", "")
CHAT_BASE_URL = env_str("CHAT_BASE_URL", "")
CHAT_TIMEOUT_S = env_float("CHAT_TIMEOUT_S", 60.0, minimum=0.1)
CHAT_RETRIES = env_int("CHAT_RETRIES", 3, minimum=0)
CHAT_MAX_CONCURRENCY = env_int("CHAT_MAX_CONCURRENCY", 4, minimum=1)


def env_chat_prices(name: str) -> dict:
    """USD per 1,000 prompt/completion tokens per model (SPEC §4.8); a model not listed is unpriced."""
    from apps.replay.pricing import parse_chat_prices  # pure Python: no Django needed to import it

    try:
        return parse_chat_prices(os.environ.get(name, ""))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc} (expected e.g. \"gpt-4o-mini=0.00015/0.0006;llama3.1:8b=0/0\")") from None


CHAT_PRICES = env_chat_prices("CHAT_PRICES")

# ------------------------------------------------------------------------------------ domain knobs

KB_DIR = Path(env_str("KB_DIR", str(BASE_DIR / "data" / "_kb"))).resolve()
INGEST_DIRS = [Path(p).resolve() for p in env_list("INGEST_DIRS", [str(BASE_DIR / "data")])]
# Uploaded ingest files live here until their job ends; INGEST_KEEP_UPLOADS keeps them afterwards.
INGEST_UPLOAD_DIR = Path(env_str("INGEST_UPLOAD_DIR", str(BASE_DIR / "var" / "uploads"))).resolve()
INGEST_KEEP_UPLOADS = env_bool("INGEST_KEEP_UPLOADS", False)
INGEST_MAX_UPLOAD_MB = env_int("INGEST_MAX_UPLOAD_MB", 512, minimum=1)
# An order import's CSV is stored on its job row (so a retry or a redelivered task reads the same rows).
ORDER_IMPORT_MAX_MB = env_int("ORDER_IMPORT_MAX_MB", 20, minimum=1)
INGEST_BATCH_SIZE = env_int("INGEST_BATCH_SIZE", 2000, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

HNSW_M = env_int("HNSW_M", 16, minimum=2)
# Rows per transaction (and per progress step) of an index re-embed job.
INDEX_REEMBED_BATCH_SIZE = env_int("INDEX_REEMBED_BATCH_SIZE", 1000, minimum=1)
# The workers indexes' build. At 100k, ef_construction 160 instead of 64 takes 41 s instead of 24 and
# gives a graph whose walk at ef_search 60 is as accurate as the old one's at 120 in two thirds of the
# time, and that finds a profile swap's next ten (recall@10 0.95 → 0.99; benchmarks/README.md). 200+
# did better still but pushed the ingest of 100k toward its 90 s.
HNSW_EF_CONSTRUCTION = env_int("HNSW_EF_CONSTRUCTION", 160, minimum=4)
# The playbook memory inserts one row per recorded fill, on the request path, and each insert walks the
# graph at ef_construction; its lookups also scan the newest rows exactly, so it keeps the cheap build.
PLAYBOOK_HNSW_EF_CONSTRUCTION = env_int("PLAYBOOK_HNSW_EF_CONSTRUCTION", 64, minimum=4)
PG_BUILD_MAINTENANCE_WORK_MEM = env_str("PG_BUILD_MAINTENANCE_WORK_MEM", "1GB")
# The unfiltered walk's candidate list. 100, not 120: on three fresh builds of the 100k graph the raw
# top-10 kept recall 0.983–0.991 at 100 (0.961–0.985 at 80, too close to build luck), and each walk
# costs ~13 % less PostgreSQL time than at 120 (benchmarks/README.md, sixth pass).
SEARCH_EF_SEARCH = env_int("SEARCH_EF_SEARCH", 100, minimum=1, maximum=1000)
# Workers sampled per process to catch a graph walk that settled in the wrong cluster (a sampled row
# that passes the filters beats its best result): the walk then runs again at ef_search 400
# (apps.workers.walk_floor). 0 turns the check off.
SEARCH_WALK_FLOOR_SAMPLE = env_int("SEARCH_WALK_FLOOR_SAMPLE", 2000, minimum=0)
# Filters estimated to keep at most this many rows take the exact path (B-tree/GIN → distances → sort).
SEARCH_EXACT_MAX_ROWS = env_int("SEARCH_EXACT_MAX_ROWS", 5000, minimum=0)
# Larger filters take it too when a graph walk would meet more rows than they keep, one walked row
# costing this many rows of the exact path (apps.workers.search.weigh_walk). At 100k a walked row cost
# 7.2–8.6 exact rows at the median and more on the far walks the weighing exists to stop, the exact
# rows read from the role index `worker_role_embedding` (`python -m benchmarks.bench_walk_row_cost`;
# benchmarks/README.md, thirteenth pass). 0: every larger filter walks.
SEARCH_WALK_ROW_COST = env_float("SEARCH_WALK_ROW_COST", 10.0, minimum=0.0)
SEARCH_RESULT_CACHE_TTL_S = env_int("SEARCH_RESULT_CACHE_TTL_S", 300, minimum=0)
# Index versions are mirrored in Redis (apps.indexes.version_mirror); a write the app cannot see (raw
# SQL on the workers table) shows within this many seconds, every other write at once.
INDEX_VERSION_MIRROR_TTL_S = env_int("INDEX_VERSION_MIRROR_TTL_S", 10, minimum=1)
# The interaction log (SPEC §3.5) leaves the request path: a request RPUSHes its scrubbed row to a Redis
# list (append-only file: durable) and the worker drains it in batches (apps.interactions.services).
# Off → one synchronous INSERT per request, as before.
INTERACTION_LOG_QUEUE = env_bool("INTERACTION_LOG_QUEUE", True)
INTERACTION_DRAIN_BATCH = env_int("INTERACTION_DRAIN_BATCH", 1000, minimum=1, maximum=20000)
# Celery beat drains every this many seconds; a queue reaching INTERACTION_DRAIN_BATCH rows asks at once.
INTERACTION_DRAIN_INTERVAL_S = env_float("INTERACTION_DRAIN_INTERVAL_S", 2.0, minimum=0.1)
# Hybrid ranking (SEMANTIC_EMBEDDING_PROVIDER set): each ranking's depth fused by RRF.
SEARCH_HYBRID_DEPTH = env_int("SEARCH_HYBRID_DEPTH", 50, minimum=1, maximum=1000)
# Orders with a site_zip find candidates within this many miles of it (SPEC §4.8a).
ORDER_RADIUS_MILES = env_int("ORDER_RADIUS_MILES", 25, minimum=1, maximum=250)

PLAYBOOK_MIN_SIMILARITY = env_float("PLAYBOOK_MIN_SIMILARITY", 0.75, minimum=-1.0, maximum=1.0)
PLAYBOOK_BETA = env_float("PLAYBOOK_BETA", 0.15, minimum=0.0)
PLAYBOOK_HALF_LIFE_DAYS = env_float("PLAYBOOK_HALF_LIFE_DAYS", 30.0, minimum=0.01)
PLAYBOOK_MAX_PLAYBOOKS = env_int("PLAYBOOK_MAX_PLAYBOOKS", 20, minimum=1)
# Memory lookups scan exactly up to this many playbooks; above it they take the PLAYBOOK_WALK_MAX_TUPLES
# nearest from the HNSW index and filter those, so a lookup costs the same at any memory size.
PLAYBOOK_EXACT_SCAN_MAX_ROWS = env_int("PLAYBOOK_EXACT_SCAN_MAX_ROWS", 1000, minimum=0)
PLAYBOOK_WALK_MAX_TUPLES = env_int("PLAYBOOK_WALK_MAX_TUPLES", 200, minimum=1, maximum=1000)

# Retention (issue 23): the interaction log and the playbook memory stay bounded under steady load.
# An interaction older than INTERACTION_RETENTION_DAYS is deleted only once it has its evidence record
# (the materializer distilled it; evidence itself is never deleted). A playbook older than
# PLAYBOOK_ARCHIVE_AFTER_DAYS moves to the archive table and no longer boosts; the default, ten
# half-lives, is where its decay weight is below 1/1000 (β × that is under 0.0002 of a score), and the
# floor of one half-life keeps any playbook that still counts at least half in the memory.
INTERACTION_RETENTION_DAYS = env_int("INTERACTION_RETENTION_DAYS", 90, minimum=1)
PLAYBOOK_ARCHIVE_AFTER_DAYS = env_float("PLAYBOOK_ARCHIVE_AFTER_DAYS", 10 * PLAYBOOK_HALF_LIFE_DAYS, minimum=PLAYBOOK_HALF_LIFE_DAYS)
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 5000, minimum=1)
# Celery beat queues a retention run this often (0: only when an operator starts one).
RETENTION_INTERVAL_S = env_int("RETENTION_INTERVAL_S", 86400, minimum=0)

# The agency's own contact points: never flagged as another worker's phone/email in outreach.
AGENCY_PHONES = env_list("AGENCY_PHONES", ["+15551234567"])
AGENCY_EMAILS = env_list("AGENCY_EMAILS", ["jobs@lakehouse-staffing.example"])

# Alerts (a failed job, replay regressions): email through Django's backend — the console by default,
# SMTP with EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST/PORT/... — plus an
# optional webhook that gets a retried JSON POST.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
ALERT_EMAILS = env_list("ALERT_EMAILS", ["ops@lakehouse-staffing.example"])
ALERT_FROM_EMAIL = env_str("ALERT_FROM_EMAIL", "alerts@lakehouse-staffing.example")
ALERT_WEBHOOK_URL = env_str("ALERT_WEBHOOK_URL", "")
ALERT_WEBHOOK_TIMEOUT_S = env_float("ALERT_WEBHOOK_TIMEOUT_S", 5.0, minimum=0.1)
ALERT_WEBHOOK_RETRIES = env_int("ALERT_WEBHOOK_RETRIES", 3, minimum=0)
ALERT_WEBHOOK_BACKOFF_S = env_float("ALERT_WEBHOOK_BACKOFF_S", 0.5, minimum=0.0)

REPLAY_MIN_OVERLAP = env_float("REPLAY_MIN_OVERLAP", 0.6, minimum=0.0, maximum=1.0)
