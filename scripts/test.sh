#!/usr/bin/env bash
# npm test: installs what the suite needs (Debian, as root), builds, then runs the three layers:
# unit tests (anywhere), kernel tests (root, throwaway network namespaces) and system tests (root, a
# container booted with systemd).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The type check covers test/ as well as src/: a test that no longer fits the code fails here.
echo "xtban tests: type check of src/ and test/ (tsc -p tsconfig.json)"
npx tsc -p tsconfig.json --noEmit
# The linter and the formatter (Biome): floating promises, unused code, and one layout.
echo "xtban tests: lint and format check (biome check)"
npx biome check src test vitest.config.ts
report=$(mktemp -t xtban-vitest-XXXXXX.json)
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?
# One plain closing line for people and CI alike.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$report" || true
exit "$status"
