#!/usr/bin/env bash
# One command for a fresh machine: NATS and PostgreSQL if missing, dependencies if missing,
# then the whole mesh as local processes on the embedded defaults (synthetic chain, local
# warehouse under ./data). Ctrl-C stops everything gracefully.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/dev-services.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci; fi
exec node tools/mesh.mjs "$@"
