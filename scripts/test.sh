#!/usr/bin/env bash
# npm test: installs what the suite needs (Debian, as root), builds, then runs both layers:
# unit tests (anywhere) and kernel tests (root, throwaway network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx vitest run "$@"
