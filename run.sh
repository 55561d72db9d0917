#!/usr/bin/env bash
# Runs the dashboard: ./run.sh [app.py options]   (./run.sh --help lists them)
# The first run creates .venv and installs requirements.txt (about a minute).
# Without SFTPGO_LOG_DIR or --log-dir it starts in demo mode (a built-in log simulator).
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
(cd "$root" && . scripts/venv.sh && ensure_venv)

demo=(--demo)
[ -n "${SFTPGO_LOG_DIR:-}" ] && demo=()
for arg in "$@"; do
  case $arg in --log-dir|--log-dir=*) demo=() ;; esac
done
exec "$root/.venv/bin/python" "$root/app.py" "${demo[@]}" "$@"
