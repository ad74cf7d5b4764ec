#!/usr/bin/env bash
# Fuzz every API operation with schemathesis against a real `bastion serve` on SQLite (a
# fresh data directory, the example dispensary, an admin API token), with a bounded budget.
# Fails when any response is a server error (5xx). Budget: ST_MAX_EXAMPLES per operation
# (default 10), ST_TIMEOUT seconds for the whole run (default 1800), ST_WORKERS clients (1).
set -euo pipefail
cd "$(dirname "$0")/.."
BASTION=${BASTION:-.venv/bin/bastion}
SCHEMATHESIS=${SCHEMATHESIS:-.venv/bin/schemathesis}
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-10}
TIMEOUT=${ST_TIMEOUT:-1800}
REPORT_DIR=${ST_REPORT_DIR:-}

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

export BASTION_DATA_DIR="$work/data"
export BASTION_CHECKPOINT_DIR="$work/checkpoints"
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"$BASTION" init --site examples/dispensary.yaml >/dev/null
BASTION_ADMIN_PASSWORD="fuzz-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" \
  "$BASTION" users create-admin --username fuzz-admin >/dev/null
token=$("$BASTION" users token-create schemathesis --owner fuzz-admin --role admin \
  | grep -o 'bst_[A-Za-z0-9_-]*' | head -n1)
[ -n "$token" ] || { echo "schemathesis: could not mint an API token" >&2; exit 1; }

"$BASTION" serve --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 60); do
  if .venv/bin/python -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:$port/api/ready').status_code != 200)" 2>/dev/null; then
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 1
done

# Operations that can end the fuzzer's own credentials (revoke its token, disable its
# account, take its role) run last, in a second pass, so they cannot hide the others.
SELF_ENDING='^/api/(tokens/\{token_id\}|users/\{user_id\}/(disable|roles/\{role\}))$'
fuzz() {
  local name=$1; shift
  local report=()
  if [ -n "$REPORT_DIR" ]; then
    report=(--report junit,ndjson --report-dir "$REPORT_DIR/$name")
  fi
  timeout --signal=INT -k 60 "$TIMEOUT" "$SCHEMATHESIS" run "http://127.0.0.1:$port/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --workers "${ST_WORKERS:-1}" \
    --request-timeout 30 \
    --seed "${ST_SEED:-1}" \
    --generation-database none \
    --no-color \
    "${report[@]}" "$@"
}
status=0
fuzz main --exclude-path-regex "$SELF_ENDING" || status=$?
fuzz self-ending --include-path-regex "$SELF_ENDING" || status=$?
# A request that failed inside the app is a server error even if its answer looked fine;
# other tracebacks (background workers) are shown for the record.
if grep -q "Exception in ASGI application" "$work/server.log"; then
  echo "schemathesis: a request failed inside the server:" >&2
  grep -A60 "Exception in ASGI application" "$work/server.log" | grep -v '^ *\^' | head -n 200 >&2
  status=1
elif grep -q "Traceback" "$work/server.log"; then
  echo "schemathesis: the server logged these tracebacks outside requests:" >&2
  grep -A40 "Traceback" "$work/server.log" | grep -v '^ *\^' | head -n 120 >&2
fi
exit "$status"
