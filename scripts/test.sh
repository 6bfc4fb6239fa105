#!/usr/bin/env bash
# Sets up everything the tests need on a fresh Debian 12 machine (as root) and runs all tests:
# type check, lint, then every package's Jest suite: store tests on SQLite and PostgreSQL, driver
# tests against the real libvirt daemon with real guests; then the browser suite: the portal
# started by scripts/start.sh, driven in Debian's Chromium.
source "$(dirname "$0")/lib.sh"
T0=$SECONDS

setup_node
setup_dependencies
setup_postgres
setup_libvirt
setup_guest
setup_chromium

cd "$REPO_ROOT"
step "Type check (tsc)"
t=$SECONDS; yarn tsc; info "tsc took $((SECONDS - t)) s"

step "Lint (ESLint with Backstage's rules) and formatting (Prettier)"
t=$SECONDS
yarn backstage-cli repo lint
yarn prettier --check . >/dev/null || { yarn prettier --check .; exit 1; }
info "lint and formatting took $((SECONDS - t)) s"

step "Tests (Jest via backstage-cli, SQLite + PostgreSQL)"
t=$SECONDS
results="$CACHE_DIR/jest-results.json"
rm -f "$results"
status=0
CI=true BACKSTAGE_TEST_DISABLE_DOCKER=1 yarn backstage-cli repo test --ci \
  --json --outputFile="$results" || status=$?
info "tests took $((SECONDS - t)) s"
if [ -f "$results" ]; then
  node -e '
    const r = require(process.argv[1]);
    console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  ' "$results"
fi
[ "$status" = 0 ] || exit "$status"

step "End-to-end tests in Chromium (portal started by scripts/start.sh, real backend and libvirt)"
t=$SECONDS
SM_E2E_ARTIFACTS="$CACHE_DIR/e2e-artifacts" node -r sucrase/register e2e/portal.e2e.ts
info "end-to-end tests took $((SECONDS - t)) s (screenshots and portal log in .cache/e2e-artifacts)"

step "All done in $((SECONDS - T0)) s"
