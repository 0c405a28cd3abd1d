#!/usr/bin/env bash
# API fuzzing for a release: the CI fuzz tests, run much longer.
#
#   scripts/security/fuzz.sh [EXAMPLES]        (default 1000; CI runs 50)
#
# Runs tests/test_fuzz_api.py (schemathesis against /api/v1/openapi.json, as anonymous and
# as each role, every operation: no 5xx, every status, content type, header and body as
# documented, invalid input refused) and tests/test_api_errors.py (every documented error
# status provoked), with EXAMPLES generated requests per operation and caller on top of
# schemathesis's coverage cases: on SQLite, then on PostgreSQL when TEST_DATABASE_URL is
# set (as for scripts/test). Output goes to test-artifacts/fuzz/; exit 1 on any failure,
# each failure with a curl command that reproduces it.
#
# At 1000 on two cores this took 11 minutes on SQLite and 14 on PostgreSQL (CI's 50 take
# about 1.5 and 2 minutes); 200 is a quicker pre-release check.
set -euo pipefail
source "$(dirname "$0")/../_venv.sh"
cd "$ROOT"
ensure_venv "[test]"
export FUZZ_RANDOM=1  # new requests each run (CI repeats the same ones)

examples="${1:-1000}"
case "$examples" in
  ''|*[!0-9]*) echo "usage: $0 [EXAMPLES]" >&2; exit 2 ;;
esac
out="$ROOT/test-artifacts/fuzz"
rm -rf "$out" && mkdir -p "$out"
tests=(tests/test_fuzz_api.py tests/test_api_errors.py)
status=0

run() {  # name [env...]
  local name="$1"; shift
  echo "==> fuzzing on $name, $examples examples per operation and caller"
  local started=$SECONDS
  if env "$@" FUZZ_EXAMPLES="$examples" "$VENV/bin/pytest" -q -p no:cacheprovider \
      --junitxml="$out/$name.xml" "${tests[@]}" >"$out/$name.log" 2>&1; then
    echo "   passed in $(( (SECONDS - started) / 60 )) min"
  else
    echo "   FAILED after $(( (SECONDS - started) / 60 )) min: see $out/$name.log"
    status=1
  fi
  tail -1 "$out/$name.log" | sed 's/^/   /'
}

run sqlite -u TEST_DATABASE_URL
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  run postgresql
else
  echo "==> TEST_DATABASE_URL not set: PostgreSQL pass skipped"
fi
exit "$status"
