#!/usr/bin/env bash
# Builds Stage Manager's tiny test guest from Debian packages, offline (only Debian's package mirror
# is needed), and caches it:
#
#   bash scripts/build-guest.sh [OUT_DIR]        (default OUT_DIR: <repo>/.cache/guest)
#
# Outputs in OUT_DIR:
#   vmlinux     uncompressed kernel from Debian's current linux-image-6.1.0-*-amd64 package. QEMU
#               boots it through PVH (direct kernel boot), about twice as fast as vmlinuz under TCG.
#   initrd.gz   busybox-static initramfs: the virtio modules of that kernel, the ACPI button and evdev
#               modules, and scripts/guest/init (see that file for the kernel command line it reads,
#               the HTTP answer and the STAGE-MANAGER-BOOTED console line).
#   base.qcow2  1 GiB qcow2 disk whose first 512 bytes are "base-marker\n" and zeros (the marker the
#               guest serves); the rest is sparse.
#   build.sum   what the build was made from. When the inputs are unchanged (this script,
#               scripts/guest/*, /bin/busybox and the kernel package version) the script prints
#               "up to date" and exits at once.
#
# Root is not needed except for `apt-get update`, which runs only when the package lists lack the
# kernel package. The outputs are replaced only once all of them are built (build.sum last), so an
# interrupted build is never taken for a complete one.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
GUEST_DIR="$SCRIPT_DIR/guest"
OUT_DIR="${1:-$REPO_ROOT/.cache/guest}"
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"

BUSYBOX=/bin/busybox                # from busybox-static: no shared libraries needed in the guest
APT_LISTS=/var/lib/apt/lists
OUTPUTS=(vmlinux initrd.gz base.qcow2)
DISK_SIZE=1G
DISK_MARKER='base-marker'
# Kernel modules, in insmod order (dependencies first). The guest's /init loads them from
# /etc/modules. button + evdev let busybox acpid see the ACPI power button (clean `virsh shutdown`).
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
  failover net_failover virtio_net virtio_blk button evdev)

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
info() { printf '    %s\n' "$*"; }
die() { printf 'build-guest: %s\n' "$*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb cpio gzip xz qemu-img sha256sum flock; do
  command -v "$tool" >/dev/null 2>&1 || die "missing $tool (Debian: apt-get install busybox-static cpio xz-utils qemu-utils)"
done
[ -x "$BUSYBOX" ] || die "missing $BUSYBOX (Debian: apt-get install busybox-static)"

# ---------------------------------------------------------------------------------------------------
# Cache check
# ---------------------------------------------------------------------------------------------------

# Hash of the local inputs: this script, every file under scripts/guest (path, mode and content) and
# the busybox binary that goes into the initramfs.
inputs_hash() {
  {
    sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
    (cd "$GUEST_DIR" && find . -type f | LC_ALL=C sort | while read -r f; do
      printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -d' ' -f1)"
    done)
    sha256sum <"$BUSYBOX" | cut -d' ' -f1
  } | sha256sum | cut -d' ' -f1
}

# Cheap fingerprint of apt's package lists (names, sizes, mtimes). Asking apt for the kernel version
# costs ~1 s here (apt's binary cache is disabled), so it is asked only when the lists changed.
lists_fingerprint() {
  find "$APT_LISTS" -maxdepth 1 -name '*_Packages*' -printf '%f %s %T@\n' 2>/dev/null |
    LC_ALL=C sort | sha256sum | cut -d' ' -f1
}

# Value of KEY in OUT_DIR/build.sum (lines "key value...").
sum_get() { sed -n "s/^$1 //p" "$OUT_DIR/build.sum" 2>/dev/null | head -n 1; }

outputs_present() {
  local f
  for f in "${OUTPUTS[@]}"; do [ -s "$OUT_DIR/$f" ] || return 1; done
  [ -s "$OUT_DIR/build.sum" ]
}

write_sum() { # write_sum KERNEL_PKG KERNEL_VERSION
  {
    echo "inputs $INPUTS"
    echo "kernel $1 $2"
    echo "apt-lists $LISTS"
    echo "busybox $("$BUSYBOX" 2>&1 | sed -n 1p)"
    echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  } >"$OUT_DIR/build.sum.tmp"
  mv -f "$OUT_DIR/build.sum.tmp" "$OUT_DIR/build.sum"
}

# One build at a time per OUT_DIR; a second caller waits, then finds the guest up to date.
exec 9>"$OUT_DIR/.lock"
flock 9

INPUTS=$(inputs_hash)
LISTS=$(lists_fingerprint)
if outputs_present && [ "$(sum_get inputs)" = "$INPUTS" ] && [ "$(sum_get apt-lists)" = "$LISTS" ]; then
  echo "guest in $OUT_DIR: up to date ($(sum_get kernel))"
  exit 0
fi

# ---------------------------------------------------------------------------------------------------
# Kernel package: the versioned package Debian's linux-image-amd64 depends on
# ---------------------------------------------------------------------------------------------------

APT_UPDATED=0
apt_update() {
  [ "$APT_UPDATED" = 0 ] || return 1
  [ "$(id -u)" = 0 ] || die "the package lists lack the kernel package; run 'apt-get update' as root"
  info "apt-get update (the package lists lack the kernel package)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  APT_UPDATED=1
}

# Prints "PACKAGE VERSION" from the candidate linux-image-amd64's "Depends: linux-image-X (= V)".
resolve_kernel() {
  apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
    sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*-amd64\) (= \([^)]*\)).*/\1 \2/p' | head -n 1
}

step "Kernel package"
KERNEL=$(resolve_kernel)
if [ -z "$KERNEL" ]; then
  apt_update
  KERNEL=$(resolve_kernel)
fi
[ -n "$KERNEL" ] || die "cannot resolve linux-image-amd64's kernel package (apt-cache show linux-image-amd64)"
read -r KPKG KVER <<<"$KERNEL"
info "linux-image-amd64 -> $KPKG $KVER"

# Same inputs and same kernel: only the package lists were refreshed. Record them and stop.
if outputs_present && [ "$(sum_get inputs)" = "$INPUTS" ] && [ "$(sum_get kernel)" = "$KPKG $KVER" ]; then
  write_sum "$KPKG" "$KVER"
  echo "guest in $OUT_DIR: up to date ($KPKG $KVER)"
  exit 0
fi

START=$SECONDS
rm -rf "$OUT_DIR"/.build.*   # left over by a killed build (we hold the lock)
# Staging directory on the same filesystem as OUT_DIR, so the final moves are atomic renames.
STAGE=$(mktemp -d "$OUT_DIR/.build.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
chmod 755 "$STAGE"   # apt's _apt user must be able to write the download here

step "Downloading $KPKG=$KVER"
mkdir -p "$STAGE/deb"
chmod 777 "$STAGE/deb"
download() { (cd "$STAGE/deb" && apt-get download -q "$KPKG=$KVER" >/dev/null); }
if ! download; then
  apt_update || die "apt-get download $KPKG=$KVER failed"
  download || die "apt-get download $KPKG=$KVER failed"
fi
DEB=$(ls "$STAGE"/deb/*.deb)
info "$(basename "$DEB") ($(du -h "$DEB" | cut -f1))"

step "Unpacking the kernel package"
dpkg-deb -x "$DEB" "$STAGE/pkg"
VMLINUZ=$(ls "$STAGE"/pkg/boot/vmlinuz-*)
KREL=${VMLINUZ##*/vmlinuz-}
MODDIR="$STAGE/pkg/lib/modules/$KREL"
[ -d "$MODDIR" ] || die "no /lib/modules/$KREL in $KPKG"
info "kernel release $KREL"

# ---------------------------------------------------------------------------------------------------
# vmlinux: the xz payload of the bzImage, after the first "\xfd7zXZ\0" magic
# ---------------------------------------------------------------------------------------------------

step "Extracting vmlinux from vmlinuz"
OFFSET=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$VMLINUZ" | head -n 1 | cut -d: -f1 || true)
[ -n "$OFFSET" ] || die "no xz payload in $VMLINUZ (kernel not xz-compressed?)"
# --single-stream: stop at the end of the xz stream and ignore the bzImage bytes after it. (Through a
# file, not a pipe: xz stops reading early, which would fail the pipeline with SIGPIPE.)
tail -c "+$((OFFSET + 1))" "$VMLINUZ" >"$STAGE/payload.xz"
xz -dc --single-stream "$STAGE/payload.xz" >"$STAGE/vmlinux"
rm -f "$STAGE/payload.xz"
[ "$(head -c 4 "$STAGE/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || die "extracted vmlinux is not an ELF file"
info "vmlinux $(du -h --apparent-size "$STAGE/vmlinux" | cut -f1) (xz payload at offset $OFFSET)"

# ---------------------------------------------------------------------------------------------------
# initrd.gz: busybox-static, the modules, /init and its configuration
# ---------------------------------------------------------------------------------------------------

step "Building initrd.gz"
ROOT="$STAGE/root"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,etc,lib/modules,proc,sys,dev,run,tmp,www}
chmod 1777 "$ROOT/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
# One symlink per applet, at the path busybox itself names (bin/sh, sbin/init, usr/bin/...).
"$BUSYBOX" --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] || [ -e "$ROOT/$applet" ] || ln -s /bin/busybox "$ROOT/$applet"
done

: >"$ROOT/etc/modules"
for mod in "${MODULES[@]}"; do
  src=$(find "$MODDIR/kernel" -name "$mod.ko" -o -name "$mod.ko.xz" -o -name "$mod.ko.zst" -o -name "$mod.ko.gz" | head -n 1)
  [ -n "$src" ] || die "module $mod not found in $KPKG"
  case "$src" in   # the guest's insmod gets plain .ko files
    *.ko.xz) xz -dc "$src" ;;
    *.ko.zst) zstd -dcq "$src" ;;
    *.ko.gz) gzip -dc "$src" ;;
    *) cat "$src" ;;
  esac >"$ROOT/lib/modules/$mod.ko"
  echo "$mod" >>"$ROOT/etc/modules"
done
info "modules: ${MODULES[*]}"

install -m 0755 "$GUEST_DIR/init" "$ROOT/init"
install -m 0755 "$GUEST_DIR/udhcpc.script" "$ROOT/etc/udhcpc.script"
install -m 0644 "$GUEST_DIR/inittab" "$ROOT/etc/inittab"
cp -R "$GUEST_DIR/acpi" "$ROOT/etc/acpi"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"

(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$STAGE/initrd.gz"
info "initrd.gz $(du -h --apparent-size "$STAGE/initrd.gz" | cut -f1)"

# ---------------------------------------------------------------------------------------------------
# base.qcow2: the marker in the first sector, everything else zero (sparse)
# ---------------------------------------------------------------------------------------------------

step "Building base.qcow2 ($DISK_SIZE, marker '$DISK_MARKER')"
truncate -s "$DISK_SIZE" "$STAGE/base.raw"
printf '%s\n' "$DISK_MARKER" | dd of="$STAGE/base.raw" conv=notrunc status=none
qemu-img convert -f raw -O qcow2 "$STAGE/base.raw" "$STAGE/base.qcow2"
rm -f "$STAGE/base.raw"
# Linked clones may use the current base.qcow2 as their backing file: keep that very file when the
# new one has the same content, rather than swapping the file under them.
if [ -s "$OUT_DIR/base.qcow2" ] && qemu-img compare -U -q "$OUT_DIR/base.qcow2" "$STAGE/base.qcow2" 2>/dev/null; then
  info "content unchanged: keeping the existing base.qcow2"
  rm -f "$STAGE/base.qcow2"
else
  info "base.qcow2 $(du -h "$STAGE/base.qcow2" | cut -f1) on disk"
fi

# ---------------------------------------------------------------------------------------------------
# Install the outputs (build.sum last)
# ---------------------------------------------------------------------------------------------------

step "Installing into $OUT_DIR"
rm -f "$OUT_DIR/build.sum"
for f in "${OUTPUTS[@]}"; do
  if [ -e "$STAGE/$f" ]; then mv -f "$STAGE/$f" "$OUT_DIR/$f"; fi
done
write_sum "$KPKG" "$KVER"
for f in "${OUTPUTS[@]}"; do
  info "$(printf '%-11s %s' "$f" "$(du -h --apparent-size "$OUT_DIR/$f" | cut -f1)")"
done
info "built in $((SECONDS - START)) s from $KPKG $KVER"
