#!/usr/bin/env bash
# Runs the test suite: ./test.sh [pytest options], e.g. ./test.sh -q, ./test.sh -m "not slow"
# On a bare Debian machine it first installs Chromium, chromedriver, MariaDB, GoAccess and
# Prometheus (apt, as root or through sudo) and creates .venv. The tests start their own
# throwaway MariaDB server and Prometheus (Debian's package starts none).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/venv.sh
export PATH="$PATH:/usr/sbin:/sbin"  # mariadbd lives in /usr/sbin

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v mariadbd >/dev/null || missing+=(mariadb-server)
command -v goaccess >/dev/null || missing+=(goaccess)  # the yardstick of bench/bench_ingest.py
# Prometheus and promtool: the /metrics tests scrape with a real one (started by the tests)
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

ensure_venv
exec .venv/bin/python -m pytest "$@"
