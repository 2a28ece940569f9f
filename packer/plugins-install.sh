#!/usr/bin/env bash
# Install the pinned Packer plugins (packer/plugins.txt) for Packer >= 1.8.
# Packer 1.6/1.7 (Debian's packer is 1.6.6) have the qemu and amazon builders
# built in and no `packer plugins` command: nothing to do there.
#   usage: packer/plugins-install.sh [plugins.txt]
set -euo pipefail
cd "$(dirname "$0")"
list=${1:-plugins.txt}
export CHECKPOINT_DISABLE=1

version=$(packer version | sed -nE '1s/^Packer v?([0-9]+\.[0-9]+\.[0-9]+).*/\1/p')
[ -n "$version" ] || { echo "plugins-install: cannot read the Packer version" >&2; exit 2; }
IFS=. read -r major minor _ <<<"$version"
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 8 ]; }; then
  echo "plugins-install: Packer $version has the qemu and amazon builders built in; nothing to install"
  exit 0
fi

while read -r source pinned _; do
  case "$source" in '' | '#'*) continue ;; esac
  [[ $pinned =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "plugins-install: $list: $source needs an exact version (vX.Y.Z), got '${pinned:-}'" >&2; exit 2; }
  echo "plugins-install: $source $pinned"
  packer plugins install "$source" "$pinned"
done <"$list"
packer plugins installed
