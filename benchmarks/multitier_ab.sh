#!/bin/bash
# Multitier c=50 back to back against two running stacks, A and B (issue 18):
#
#   A_URL=http://127.0.0.1:8041 A_TOKEN=... A_ENV="DATABASE_URL=... REDIS_URL=..." \
#   B_URL=http://127.0.0.1:8042 B_TOKEN=... B_ENV="LAKEHOUSE_VAR_DIR=..." \
#   OUT=/tmp/ab bash benchmarks/multitier_ab.sh reset A1 B1 A2 B2 ...
#
# Each A*/B* argument is one 60 s run (DURATION) with --footprint, its report in $OUT/<name>.json and
# .log; the footprint's CPU and memory per process group (web, Celery, PostgreSQL, Redis) is printed
# after the scenarios/s. `reset` empties both stacks' playbook memory, so each series starts from the
# same state. SEED (default 0) seeds the scenarios: every run of one seed replays the same requests, so
# a run within SEARCH_RESULT_CACHE_TTL_S of the previous one finds many of its searches already in the
# result cache; give each pair its own seed to measure streams no run has replayed. The *_ENV settings
# point this checkout's harness (and its footprint report) at each stack's own database and Redis,
# never at its embedded launcher's defaults: A_ENV must name A's DATABASE_URL and REDIS_URL, or this
# checkout's launcher opens A's data dir itself (and upgrades a PostgreSQL 16 one, moving it aside). Run it
# from this checkout with nothing else running on the machine.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/multitier-ab}
mkdir -p "$OUT"
PY=${PYTHON:-.venv/bin/python}
run() { # name url token env
  echo "== $1 $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  env $4 "$PY" manage.py multitier --base-url "$2" --token "$3" --concurrency 50 --duration "${DURATION:-60s}" \
    --warmup 5s --seed "${SEED:-0}" --footprint --json-out "$OUT/$1.json" > "$OUT/$1.log" 2>&1
  grep "scenarios/s, " "$OUT/$1.log"
  sed -n '/^process group/,/^total /p' "$OUT/$1.log" | grep -v '^---'  # the footprint table
}
for spec in "$@"; do
  case $spec in
    reset)
      for side in A B; do
        url=${side}_URL token=${side}_TOKEN
        [ -n "${!url:-}" ] || continue  # a series may drive one stack only
        curl -s -o /dev/null -w "reset $side %{http_code}\n" -X DELETE -H "Authorization: Token ${!token}" "${!url}/api/v1/indexes/playbook_memory/"
      done ;;
    A*) run "$spec" "$A_URL" "$A_TOKEN" "${A_ENV:-}" ;;
    B*) run "$spec" "$B_URL" "$B_TOKEN" "${B_ENV:-}" ;;
    *) echo "unknown step $spec" >&2; exit 2 ;;
  esac
done
