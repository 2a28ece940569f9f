#!/usr/bin/env bash
# A client's state on its own disk, so that moving the VM to a new golden
# image keeps the client's agent (docs/state.md). The disk, ext4 labelled
# `openclaw-state`, is mounted at /var/lib/openclaw-state and holds:
#   clawbake-state.json  {"format":1,"owner":"<telegram id>","openclaw":"<release>"}
#   openclaw/            OpenClaw's state dir, bound to /opt/openclaw/state
#   sandbox-home/        the sandbox account's home, bound to /srv/openclaw-sandbox
#   pre-upgrade/<release>-<UTC time>/  copies of clawbake-state.json and openclaw/
#                        made before a new image's OpenClaw touched them (the
#                        newest three are kept): the way back to the earlier image
#
# usage: state-disk.sh find [DEVICE]
#          the state disk's device: DEVICE, else the file system labelled
#          openclaw-state, else the disk with serial openclaw-state
#          (/dev/disk/by-id/virtio-openclaw-state); nothing when there is none
#        state-disk.sh prepare DEVICE MOUNT
#          (root) mount DEVICE at MOUNT, formatting it first only when it is
#          blank; prints `new` or `existing`. A disk with any other file system,
#          partition table or data is refused, never formatted.
#        state-disk.sh adopt MOUNT OWNER RELEASE
#          the checks before an existing state is used by this image (the
#          owner's, a recognizable state, not from a newer OpenClaw than
#          RELEASE), then the pre-upgrade copy; prints the state's release
#        state-disk.sh record MOUNT OWNER RELEASE
#          write clawbake-state.json (atomically)
#        state-disk.sh rollback MOUNT
#          put the newest pre-upgrade copy back (the stack must be stopped);
#          the state it replaces is kept beside it, under rolled-back/
# Every refusal exits 1 with one line that says what was found and why.
set -euo pipefail
umask 077

LABEL=openclaw-state
KEEP=3

die() { echo "state-disk: $*" >&2; exit 1; }

# One field of clawbake-state.json (written by `record`: one key a line).
field() { sed -n "s/^ *\"$2\": *\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n 1; }

RELEASE_RE='^[0-9]{4}\.[0-9]{1,2}\.[0-9]{1,3}(-[0-9]+)?$'

# Is release $1 newer than release $2? (OpenClaw's calendar versions; a
# correction release 2026.9.6-1 comes after 2026.9.6)
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1)" = "$1" ]; }

# The saved pre-upgrade copies, oldest first (their names end in a UTC time).
saved_copies() {
  local d
  for d in "$1"/pre-upgrade/*; do
    if [ -d "$d" ] && [[ $d != *.partial ]]; then printf '%s\t%s\n' "${d##*-}" "$d"; fi
  done | sort | cut -f2
}

cmd_find() {
  local dev=${1:-} c
  if [ -z "$dev" ]; then
    if command -v udevadm >/dev/null; then udevadm settle --timeout=30 || true; fi
    for c in "/dev/disk/by-label/$LABEL" "/dev/disk/by-id/virtio-$LABEL"; do
      if [ -e "$c" ]; then dev=$c; break; fi
    done
  fi
  [ -n "$dev" ] || return 0
  [ -b "$dev" ] || die "$dev (STATE_DISK) is not a block device"
  readlink -f "$dev"
}

cmd_prepare() {
  local dev=$1 mnt=$2 label type pt
  [ -b "$dev" ] || die "$dev is not a block device"
  label=$(blkid -p -o value -s LABEL "$dev" 2>/dev/null || true)
  type=$(blkid -p -o value -s TYPE "$dev" 2>/dev/null || true)
  pt=$(blkid -p -o value -s PTTYPE "$dev" 2>/dev/null || true)
  local what=existing
  if [ "$label" = "$LABEL" ] && [ "$type" = ext4 ]; then
    :
  elif [ -n "$type$pt" ]; then
    die "$dev holds ${type:-a ${pt} partition table}${label:+ labelled $label}, not a clawbake state disk (ext4 labelled $LABEL): it is neither adopted nor formatted"
  elif ! cmp -s -n 1048576 "$dev" /dev/zero; then
    die "$dev is not blank (data in its first MiB, no file system blkid knows): it is neither adopted nor formatted"
  else
    mkfs.ext4 -q -L "$LABEL" -m 0 "$dev" || die "mkfs.ext4 $dev failed"
    what=new
  fi
  mkdir -p "$mnt"
  mountpoint -q "$mnt" || mount -o nodev,nosuid,noatime "$dev" "$mnt" || die "cannot mount $dev at $mnt"
  chmod 0755 "$mnt"
  echo "$what"
}

cmd_adopt() {
  local mnt=$1 owner=$2 release=$3 meta was_owner was
  meta="$mnt/clawbake-state.json"
  [[ $release =~ $RELEASE_RE ]] || die "this image's release ${release@Q} is not an OpenClaw release"
  if [ ! -f "$meta" ] || [ ! -d "$mnt/openclaw" ]; then
    die "$mnt holds no recognizable clawbake state (no clawbake-state.json and openclaw/): it is not adopted"
  fi
  was_owner=$(field "$meta" owner)
  was=$(field "$meta" openclaw)
  [[ $was_owner =~ ^[1-9][0-9]{0,19}$ && $was =~ $RELEASE_RE ]] || die "$meta is not a clawbake state record (owner ${was_owner@Q}, openclaw ${was@Q}): it is not adopted"
  [ "$was_owner" = "$owner" ] || die "the state disk holds the agent of another owner ($was_owner), not of $owner: it is not adopted"
  if newer "$was" "$release"; then
    local saved
    saved=$(saved_copies "$mnt" | sed "s|^$mnt/||" | tr '\n' ' ')
    die "the state is from OpenClaw $was, newer than this image's $release (a downgrade): it is not adopted. To go back to this image, run \`state-disk.sh rollback\` on the newer image's VM first (saved copies: ${saved:-none})"
  fi
  # the copy OpenClaw's migration cannot touch: the state as the earlier image left it
  local stamp dest
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  dest="$mnt/pre-upgrade/$was-$stamp"
  mkdir -p "$mnt/pre-upgrade"
  rm -rf "$dest.partial"
  mkdir "$dest.partial"
  cp -a "$meta" "$dest.partial/clawbake-state.json"
  # the V8 code cache is the image's, not the client's: not copied
  tar -C "$mnt" --exclude=openclaw/.compile-cache -cf - openclaw | tar -C "$dest.partial" -xf -
  mv "$dest.partial" "$dest"
  sync
  # the newest $KEEP copies stay
  saved_copies "$mnt" | head -n -"$KEEP" | while IFS= read -r old; do rm -rf "$old"; done
  echo "state-disk: owner $owner's state from OpenClaw $was adopted; copy before any change: $dest" >&2
  echo "$was"
}

cmd_record() {
  local mnt=$1 owner=$2 release=$3 tmp
  [[ $owner =~ ^[1-9][0-9]{0,19}$ ]] || die "owner ${owner@Q} is not a Telegram user id"
  [[ $release =~ $RELEASE_RE ]] || die "release ${release@Q} is not an OpenClaw release"
  tmp=$(mktemp "$mnt/.clawbake-state.XXXXXX")
  printf '{\n  "format": 1,\n  "owner": "%s",\n  "openclaw": "%s"\n}\n' "$owner" "$release" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$mnt/clawbake-state.json"
}

cmd_rollback() {
  local mnt=$1 newest stamp
  newest=$(saved_copies "$mnt" | tail -n 1)
  [ -n "$newest" ] || die "$mnt/pre-upgrade holds no saved copy: nothing to go back to"
  if [ ! -f "$newest/clawbake-state.json" ] || [ ! -d "$newest/openclaw" ]; then die "$newest is not a complete saved copy"; fi
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$mnt/rolled-back/$stamp"
  mv "$mnt/openclaw" "$mnt/rolled-back/$stamp/openclaw"
  cp -a "$mnt/clawbake-state.json" "$mnt/rolled-back/$stamp/clawbake-state.json"
  cp -a "$newest/openclaw" "$mnt/openclaw"
  cp -a "$newest/clawbake-state.json" "$mnt/clawbake-state.json"
  sync
  echo "state-disk: the state of OpenClaw $(field "$mnt/clawbake-state.json" openclaw) is back (from $newest); the state it replaced is in $mnt/rolled-back/$stamp"
}

case "${1:-}" in
  find) shift; cmd_find "$@" ;;
  prepare) [ $# -eq 3 ] || die "usage: state-disk.sh prepare DEVICE MOUNT"; cmd_prepare "$2" "$3" ;;
  adopt) [ $# -eq 4 ] || die "usage: state-disk.sh adopt MOUNT OWNER RELEASE"; cmd_adopt "$2" "$3" "$4" ;;
  record) [ $# -eq 4 ] || die "usage: state-disk.sh record MOUNT OWNER RELEASE"; cmd_record "$2" "$3" "$4" ;;
  rollback) [ $# -eq 2 ] || die "usage: state-disk.sh rollback MOUNT"; cmd_rollback "$2" ;;
  *) die "usage: state-disk.sh find|prepare|adopt|record|rollback (see the head of this file)" ;;
esac
