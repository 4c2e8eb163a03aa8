#!/usr/bin/env bash
# The test command: brings NATS and PostgreSQL up if needed, installs dependencies if needed,
# then runs every project's unit, integration and end-to-end tests and prints one closing line.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/dev-services.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci; fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
npm test 2>&1 | tee "$log" || status=$?
node tools/test-summary.mjs < "$log"
exit "$status"
