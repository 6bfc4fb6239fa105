#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine (as root) and starts the portal with Stage Manager
# on its embedded defaults: SQLite files under ./data (kept across restarts), libvirt + QEMU with the
# example guest as template `tiny-linux`.
# Frontend: http://localhost:3000   Backend: http://localhost:7007
source "$(dirname "$0")/lib.sh"

setup_node
setup_dependencies
setup_libvirt
setup_guest

cd "$REPO_ROOT"
mkdir -p data
step "Starting the portal (frontend :3000, backend :7007; data in ./data)"
# Extra arguments go to `backstage-cli repo start`, e.g. `--config app-config.yaml --config my.yaml`.
exec node .yarn/releases/yarn-4.13.0.cjs start "$@"
