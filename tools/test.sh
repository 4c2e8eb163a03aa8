#!/usr/bin/env bash
# The test command: brings NATS and PostgreSQL up if needed, installs dependencies if needed,
# then runs every project's unit, integration and end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/dev-services.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci; fi
npm test
