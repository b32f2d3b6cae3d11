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
# (PyInstaller reads shared libraries with objdump).
TEST_DEBS=(gettext xvfb xauth poppler-utils binutils)

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
    say "pytest"
    "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    sed -n '2,9p' "$0"
    exit 2
    ;;
esac
