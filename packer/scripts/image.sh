#!/usr/bin/env bash
# Pull the pinned OpenClaw image BY DIGEST and prove the daemon holds exactly
# those bytes: the repo digest Docker records must equal the pinned index digest.
set -euo pipefail

ref=${OPENCLAW_IMAGE:?OPENCLAW_IMAGE is not set}   # ghcr.io/openclaw/openclaw:<tag>@sha256:<hex>
name_tag=${ref%@*}
digest=${ref##*@}
repo=${name_tag%:*}
tag=${name_tag##*:}
case "$digest" in
  sha256:????????????????????????????????????????????????????????????????) ;;
  *) echo "clawbake: $ref is not pinned by a sha256 digest" >&2; exit 1 ;;
esac

docker pull --quiet "$repo@$digest" >/dev/null
docker tag "$repo@$digest" "$repo:$tag"

repo_digests=$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$repo:$tag")
if ! grep -Fxq "$repo@$digest" <<<"$repo_digests"; then
  echo "clawbake: pulled image digest does not match the pin $digest; docker reports:" >&2
  echo "$repo_digests" >&2
  exit 1
fi
echo "clawbake: pulled $repo:$tag @ $digest (verified)"
