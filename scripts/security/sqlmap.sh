#!/usr/bin/env bash
# SQL injection testing with sqlmap (Debian package) against a throwaway registry.
#
#   scripts/security/sqlmap.sh [--level N] [--risk N]
#
# Starts the registry on loopback with its own SQLite database, keyring and demo data,
# issues clinician and researcher tokens, and points sqlmap at every parameter of the
# search, eligibility and participant-list endpoints (JSON bodies and query strings).
# sqlmap's verdict for each target and a summary go to test-artifacts/sqlmap/; exit 1 if
# any parameter is reported injectable. Loopback only; nothing leaves the machine. A search
# for a number nobody has answers 404 by design, so 404 does not stop sqlmap.
set -euo pipefail
source "$(dirname "$0")/../_venv.sh"
cd "$ROOT"
ensure_venv ""
command -v sqlmap >/dev/null || { echo "sqlmap not found: apt-get install sqlmap" >&2; exit 2; }

level=3 risk=2
while [ $# -gt 0 ]; do
  case "$1" in
    --level) level="$2"; shift 2 ;;
    --risk) risk="$2"; shift 2 ;;
    *) echo "usage: $0 [--level N] [--risk N]" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d)"
out="$ROOT/test-artifacts/sqlmap"
rm -rf "$out" && mkdir -p "$out"
port=$((20000 + RANDOM % 10000))
export REGISTRY_MODE=development REGISTRY_INSTANCE_PATH="$work/instance"
export REGISTRY_KEYRING="$work/keyring.json" DATABASE_URL="sqlite:///$work/registry.sqlite3"
# sqlmap sends thousands of requests: lift the API's rate limit for this server only.
cat > "$work/registry.toml" <<TOML
[registry]
api_rate_limit = "100000 per minute"
TOML
export REGISTRY_CONFIG="$work/registry.toml"

registry() { "$VENV/bin/registry" "$@"; }
registry db upgrade >/dev/null
registry demo users >/dev/null
registry demo seed --participants 200 --seed 7 >/dev/null
token() { registry tokens issue --email "$1" --name sqlmap --expires-days 1 | grep -o 'mhr_[A-Za-z0-9_-]*' | head -1; }
clinician="$(token clinician@demo.example)"
researcher="$(token researcher@demo.example)"

# Not through the registry() function: its subshell would be what $! names, and killing it
# would leave gunicorn running.
"$VENV/bin/registry" serve --bind "127.0.0.1:$port" --workers 2 >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null && break
  sleep 0.2
done

base="http://127.0.0.1:$port/api/v1"
found=0
run() {  # name token method url [data]
  local name="$1" bearer="$2" method="$3" url="$4" data="${5:-}"
  local headers="Authorization: Bearer $bearer"
  # One --headers option, lines separated by \n: a second option would replace the first.
  if [ -n "$data" ]; then headers+=$'\nContent-Type: application/json'; fi
  local args=(-u "$url" --method "$method" --headers "$headers"
              --ignore-code 404 --batch --level "$level" --risk "$risk" --threads 2 --time-sec 2
              --output-dir "$work/sqlmap" --disable-coloring --flush-session)
  if [ -n "$data" ]; then args+=(--data "$data"); fi
  echo "==> sqlmap: $name"
  sqlmap "${args[@]}" >"$out/$name.log" 2>&1 || true
  if grep -qiE "is vulnerable|appears to be injectable|sqlmap identified the following injection" "$out/$name.log"; then
    echo "   INJECTABLE: see $out/$name.log"; found=1
  else
    { grep -iE "do not appear to be injectable|not injectable|all tested parameters" "$out/$name.log" || echo "no verdict: see $out/$name.log"; } | tail -1 | sed 's/^/   /'
  fi
}

run search "$clinician" POST "$base/participants/search" '{"nhs_number": "9990123454*"}'
run list "$clinician" GET "$base/participants?cohort=TRD*&site=RRK*&page=1*&per_page=25*"
run eligibility "$researcher" POST "$base/eligibility/count" \
  '{"criteria": {"cohort": "TRD*", "all": [{"field": "age*", "op": ">=*", "value": 18}, {"field": "postcode_district", "op": "startswith", "value": "B1*"}]}, "breakdown": ["sex*"]}'
run eligibility_values "$researcher" POST "$base/eligibility/count" \
  '{"criteria": {"cohort": "EP", "any": [{"field": "diagnosis_icd10", "op": "in", "value": ["F20*", "F29"]}, {"field": "site", "op": "=", "value": "RRK*"}]}}'

{
  echo "# sqlmap run $(date -u +%FT%TZ), level $level, risk $risk"
  for log in "$out"/*.log; do
    echo "## $(basename "$log" .log)"
    # sqlmap redraws its progress with carriage returns and terminal codes: keep the text,
    # without the times, so that uniq counts alike lines; awk, not head, so that no stage
    # of the pipeline dies of SIGPIPE (which pipefail would turn into the script's status).
    tr '\r' '\n' <"$log" | sed -E 's/^.*\[[0-9]{2}:[0-9]{2}:[0-9]{2}\] //' \
      | { grep -E "is vulnerable|injectable|all tested parameters|CRITICAL|[0-9]+ times" || true; } \
      | sort | uniq -c | sort -rn | awk 'NR <= 25'
  done
} >"$out/summary.txt"
echo "==> summary: $out/summary.txt"
exit "$found"
