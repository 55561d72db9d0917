# Sourced by run.sh and test.sh (from the repository root): shared set-up steps.

# Runs a command as root: directly when we are root, else through sudo if there is one.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "error: need root (or sudo) to run: $*" >&2; return 1
  fi
}

# Installs Debian packages.
apt_install() {
  echo "==> apt-get install $*" >&2
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

# Creates .venv if it is missing and installs requirements.txt into it. pip runs only when
# requirements.txt changed since the last successful install (its hash is kept in .venv).
ensure_venv() {
  local stamp=.venv/requirements.sha256 want
  if [ ! -x .venv/bin/python ]; then
    # Debian's python3 has no venv/ensurepip until python3-venv is installed.
    command -v python3 >/dev/null && python3 -c 'import ensurepip' 2>/dev/null \
      || apt_install python3 python3-venv
    echo "==> creating .venv" >&2
    python3 -m venv .venv
  fi
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    # no -q: the first install takes a minute or two, and each package it fetches says so
    echo "==> pip install -r requirements.txt (the first time takes a minute or two)" >&2
    .venv/bin/python -m pip install --progress-bar on -r requirements.txt >&2
    echo "$want" >"$stamp"
  fi
}
