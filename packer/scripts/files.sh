#!/usr/bin/env bash
# Lay down packer/files/ (uploaded to $CLAWBAKE_STAGE/files) under /opt/openclaw
# with explicit owners and modes. The container runs as `node` (uid 1000), so
# the OpenClaw config and state belong to 1000:1000 and are not world-readable
# (a world-readable openclaw.json is a critical finding of the security audit).
# A real `.env` is refused: secrets arrive per client at first boot, never in
# the image.
set -euo pipefail

stage=${CLAWBAKE_STAGE:?CLAWBAKE_STAGE is not set}
src=$stage/files
dest=/opt/openclaw
node_uid=1000

[ -f "$src/docker-compose.yml" ] || { echo "clawbake: $src/docker-compose.yml is missing" >&2; exit 1; }
[ -f "$src/openclaw.json" ] || { echo "clawbake: $src/openclaw.json is missing" >&2; exit 1; }
if [ -e "$src/.env" ]; then
  echo "clawbake: refusing to bake packer/files/.env into the image (secrets are provided per client at first boot)" >&2
  exit 1
fi

# uid/gid 1000 is the container's `node`, which owns state/.env with the
# client's keys. Reserve it for a system account that cannot log in, so the
# first login user cloud-init creates on a client VM (ubuntu, debian, ...)
# gets another uid and can never read that file.
if getent passwd "$node_uid" >/dev/null && [ "$(getent passwd "$node_uid" | cut -d: -f1)" != openclaw ]; then
  echo "clawbake: uid $node_uid is already taken by $(getent passwd "$node_uid" | cut -d: -f1); it would own the client's state/.env" >&2
  exit 1
fi
if ! getent group openclaw >/dev/null; then groupadd --system --gid "$node_uid" openclaw; fi
if ! getent passwd openclaw >/dev/null; then
  useradd --system --uid "$node_uid" --gid "$node_uid" --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin openclaw
fi
echo "clawbake: uid/gid $node_uid reserved for the container (openclaw, no login)"

install -d -o root -g root -m 0755 "$dest"
install -d -o "$node_uid" -g "$node_uid" -m 0700 "$dest/state"

# name -> owner:group:mode; anything else is root:root 0644 (0755 for *.sh)
mode_for() {
  case "$1" in
    openclaw.json) echo "$node_uid:$node_uid:0600" ;;
    docker-compose.yml | .env.example | cloud-init.yaml) echo "root:root:0644" ;;
    *.sh) echo "root:root:0755" ;;
    *) echo "root:root:0644" ;;
  esac
}

find "$src" -mindepth 1 -type d -printf '%P\n' | sort | while IFS= read -r dir; do
  install -d -o root -g root -m 0755 "$dest/$dir"
done
find "$src" -type f -printf '%P\n' | sort | while IFS= read -r rel; do
  IFS=: read -r owner group mode <<<"$(mode_for "$(basename "$rel")")"
  install -o "$owner" -g "$group" -m "$mode" "$src/$rel" "$dest/$rel"
  echo "clawbake: $dest/$rel $owner:$group $mode"
done
