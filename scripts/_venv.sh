# Sourced by scripts/run, scripts/test, scripts/lint, scripts/lock and scripts/sbom: make .venv
# once, and install from the lock file (requirements/, see scripts/lock) whenever the lock or
# pyproject.toml is newer than the stamp.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

ensure_venv() {  # ensure_venv EXTRAS  ("" or "[test]")
  local extras="$1" stamp="$VENV/.installed$1" lock
  case "$extras" in
    "") lock="$ROOT/requirements/lock.txt" ;;
    "[test]") lock="$ROOT/requirements/test-lock.txt" ;;
    *) echo "ensure_venv: no lock file for the extras $extras" >&2; return 2 ;;
  esac
  if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
    echo "==> installing the registry$extras from ${lock#"$ROOT"/}"
    # Every file is checked against the lock's hashes, and only wheels are accepted, so no
    # package's own build code runs here. The registry itself goes in without dependencies
    # and with the locked setuptools, so nothing unpinned is fetched for it either.
    "$VENV/bin/python" -m pip install --quiet --require-hashes --only-binary :all: -r "$lock"
    "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$ROOT"
    touch "$stamp"
  fi
}
