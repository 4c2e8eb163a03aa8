#!/usr/bin/env bash
# One command for a fresh machine: NATS and PostgreSQL if missing, dependencies if missing,
# then the whole mesh as local processes on the embedded defaults (synthetic chain, local
# warehouse under ./data). Ctrl-C stops everything gracefully. `--reset` first forgets what earlier
# runs stored (./data, the PostgreSQL schema, the NATS streams).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/dev-services.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then npm ci; fi
if [ "${1:-}" = "--reset" ]; then shift; node --import tsx tools/reset.ts; fi
exec node tools/mesh.mjs "$@"
