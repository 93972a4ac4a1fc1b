#!/usr/bin/env bash
# Prove the CLI needs no network: ingest, ask and search with the real bundled models inside
# a network namespace that has only loopback (`unshare -n`; as root, else a user namespace).
# The offline variables are unset on purpose: the program must set them itself.
# Fails on exit code 2 (usage/setup error), any other unexpected code, or a Python traceback.
set -uo pipefail
cd "$(dirname "$0")/.."
CLI="${VENV:-.venv}/bin/gpt4all-rag"
PY="${VENV:-.venv}/bin/python"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r tests/data/docs "$work/docs"

if [ "$(id -u)" -eq 0 ]; then net=(unshare -n); else net=(unshare -r -n); fi
offline() {
  "${net[@]}" env -u HF_HUB_OFFLINE -u TRANSFORMERS_OFFLINE -u HF_HUB_DISABLE_TELEMETRY \
    -u ANONYMIZED_TELEMETRY sh -c 'ip link set lo up 2>/dev/null; exec "$@"' offline "$@"
}

# The namespace really is cut off: reaching a public address must fail at once.
if offline "$PY" -c 'import socket; socket.create_connection(("1.1.1.1", 53), timeout=3)' \
    2>/dev/null; then
  echo "check-offline: the network namespace can reach the internet; cannot prove anything" >&2
  exit 1
fi

failed=0
step() {  # step NAME ALLOWED_CODES COMMAND...
  local name="$1" allowed="$2"
  shift 2
  offline "$@" >"$work/$name.out" 2>"$work/$name.err"
  local rc=$?
  if [[ " $allowed " != *" $rc "* ]] || grep -q "Traceback" "$work/$name.out" "$work/$name.err"; then
    echo "check-offline: $name FAILED (exit $rc)" >&2
    tail -n 20 "$work/$name.err" >&2
    failed=1
  else
    echo "check-offline: $name ok (exit $rc)"
  fi
}

# ingest exits 1 because tests/data/docs holds 4 bad files on purpose.
step ingest "0 1" "$CLI" ingest "$work/docs" --index "$work/index" --json
step ask "0" "$CLI" ask "What is the core temperature of the Zorblax reactor?" \
  --index "$work/index" --json
step search "0" "$CLI" search "Zorblax core temperature" --index "$work/index" --k 3 --json
grep -q '"manual.pdf"' "$work/search.out" || { echo "check-offline: search missed manual.pdf" >&2; failed=1; }
exit "$failed"
