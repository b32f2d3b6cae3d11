#!/usr/bin/env bash
# MRC Desk set-up and checks, from a fresh clone.
#
#   scripts/dev.sh run     install what is missing, then open MRC Desk
#   scripts/dev.sh test    install what is missing, then lint, type-check and run every test
#
# Each command does all set-up itself: Debian packages (when missing), a virtual
# environment in .venv, the Python packages, and the compiled translation catalogs.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV=.venv
# Libraries Qt needs for a real window on a Linux desk (xcb platform plugin, fonts, GL).
RUN_DEBS=(libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
          libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3)
# What the tests add: GNU gettext (msgfmt --check), Xvfb, poppler (PDF checks), binutils
# (PyInstaller reads shared libraries with objdump), PostgreSQL (the hub's second backend).
TEST_DEBS=(gettext xvfb xauth poppler-utils binutils postgresql)

# A plain path entry instead of setuptools' import hook: ~25 ms less at every start.
EDITABLE="--config-settings editable_mode=compat"

say() { printf '\n== %s\n' "$*"; }

install_debs() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "Please install these system packages: ${missing[*]}" >&2
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "Installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

python_env() {
  local extras="$1"
  if [ ! -x "$VENV/bin/python" ]; then
    say "Creating the virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$extras"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "Installing Python packages ($extras)"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    if [ "$extras" = "test" ]; then
      "$VENV/bin/python" -m pip install --quiet -e ".[test]" $EDITABLE
    else
      "$VENV/bin/python" -m pip install --quiet -e . $EDITABLE
    fi
    touch "$stamp"
  fi
  say "Compiling translation catalogs"
  "$VENV/bin/python" scripts/i18n.py compile
}

# A throwaway PostgreSQL on loopback for the hub tests, in a temp folder removed on exit.
# Sets MRC_TEST_POSTGRES_URL (unless it is set already: then that server is used).
# PostgreSQL refuses to run as root, so as root it runs as Debian's postgres user.
PG_DIR=""
PG_BIN=""
PG_AS=()

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

pg() {  # run a PostgreSQL server program, as the postgres user when we are root
  ${PG_AS[@]+"${PG_AS[@]}"} "$PG_BIN/$1" "${@:2}"
}

start_test_postgres() {
  if [ -n "${MRC_TEST_POSTGRES_URL:-}" ]; then
    say "PostgreSQL: using MRC_TEST_POSTGRES_URL from the environment"
    return 0
  fi
  PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null \
            | sort -V | tail -n 1)"
  if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
    echo "PostgreSQL server programs not found under /usr/lib/postgresql/*/bin" >&2
    return 1
  fi
  local parent="${TMPDIR:-/tmp}"
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    PG_AS=(runuser -u postgres --)
    parent=/tmp  # a folder the postgres user can reach
  fi
  PG_DIR="$(mktemp -d "$parent/mrc-test-pg.XXXXXX")"
  trap stop_test_postgres EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [ ${#PG_AS[@]} -eq 0 ] || chown postgres: "$PG_DIR"
  say "Starting a throwaway $("$PG_BIN/postgres" --version | sed 's/^postgres (PostgreSQL)/PostgreSQL/')"
  local started=$SECONDS
  if ! pg initdb -D "$PG_DIR/data" -U mrc --auth=trust -E UTF8 --no-locale --no-sync \
       >"$PG_DIR/initdb.log" 2>&1; then
    cat "$PG_DIR/initdb.log" >&2
    return 1
  fi
  local port tries=0
  # A free port can be taken between asking and binding: then try another.
  until port="$(free_port)" &&
        pg pg_ctl -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
          -o "-k $PG_DIR -p $port -c listen_addresses=127.0.0.1 -c fsync=off" \
          -o "-c max_connections=200" start >/dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 3 ]; then
      cat "$PG_DIR/server.log" >&2
      return 1
    fi
  done
  export MRC_TEST_POSTGRES_URL="postgresql://mrc@127.0.0.1:$port/postgres"
  echo "PostgreSQL on 127.0.0.1:$port, ready in $((SECONDS - started)) s"
}

stop_test_postgres() {
  [ -n "$PG_DIR" ] || return 0
  if [ -f "$PG_DIR/data/postmaster.pid" ]; then
    pg pg_ctl -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=""
}

case "${1:-}" in
  run)
    shift
    install_debs "${RUN_DEBS[@]}"
    python_env run
    exec "$VENV/bin/mrc-desktop" "$@"
    ;;
  test)
    shift
    install_debs "${RUN_DEBS[@]}" "${TEST_DEBS[@]}"
    python_env test
    say "ruff"
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    say "mypy"
    "$VENV/bin/mypy" mrc_desktop scripts bench build_installer.py
    say "import-linter"
    "$VENV/bin/lint-imports"
    say "translation catalogs"
    "$VENV/bin/python" scripts/i18n.py check
    start_test_postgres
    say "pytest"
    "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    sed -n '2,9p' "$0"
    exit 2
    ;;
esac
