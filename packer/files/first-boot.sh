#!/usr/bin/env bash
# First boot of a VM launched from the golden image (run by the cloud-init
# snippet, cloud-init.yaml). Turns the per-client values cloud-init wrote
# (client.env, root 0600) into OpenClaw's state and starts the stack:
#   state/openclaw.json  the shipped config with the owner id filled in (0600)
#   state/.env           the secrets OpenClaw reads itself (0600)
#   state/sandbox/       the gateway's SSH key and known_hosts for the sandbox
#   state/ (0700) and everything in it owned 1000:1000 (the image's `node`)
# on the client's state disk when the VM has one (state-disk.sh, docs/state.md):
# a blank disk is formatted and laid out; a disk with this owner's state from
# an earlier image is adopted (checked, copied aside, migrated by OpenClaw
# itself), keeping the client's data and secrets as they are;
# then installs the SSH sandbox (unprivileged `sandbox` user, its own sshd on
# 172.31.240.1:2222), applies the egress allowlist (egress.sh: the hosts of
# AVOTS_BASE_URL and TELEGRAM_API_ROOT plus EGRESS_ALLOW; docs/egress.md) and
# only then starts openclaw.service (`docker compose up`).
#
# usage: first-boot.sh [client.env]
#   OPENCLAW_ROOT        where packer/files/ was laid down (default /opt/openclaw)
#   OPENCLAW_SANDBOX_ETC the sandbox sshd's config dir (default /etc/openclaw-sandbox)
#   OPENCLAW_FIRST_BOOT_SYSTEM=0  write the state only: no user, systemd or compose
#                        (how the tests lay the files out exactly as first boot does)
#   OPENCLAW_STATE_MOUNT where the state disk is mounted (default /var/lib/openclaw-state);
#                        with OPENCLAW_FIRST_BOOT_SYSTEM=0, a directory that stands for it
# Fails closed: any invalid value stops it before anything is written, and
# egress rules that cannot be applied leave the stack stopped.
set -euo pipefail
umask 077

root=${OPENCLAW_ROOT:-/opt/openclaw}
client_env=${1:-/run/openclaw-provision/client.env}
sandbox_etc=${OPENCLAW_SANDBOX_ETC:-/etc/openclaw-sandbox}
system=${OPENCLAW_FIRST_BOOT_SYSTEM:-1}
state="$root/state"
state_mnt=${OPENCLAW_STATE_MOUNT:-/var/lib/openclaw-state}

die() { echo "first-boot: $*" >&2; exit 1; }

[ -f "$client_env" ] || die "$client_env is missing (launch the VM with \`clawbake user-data\` output)"
[ -f "$root/openclaw.json" ] || die "$root/openclaw.json is missing"

# Parse KEY=VALUE lines without evaluating them (never `source` user data).
OWNER_TELEGRAM_ID='' AVOTS_API_KEY='' TELEGRAM_BOT_TOKEN='' OPENCLAW_GATEWAY_TOKEN='' EGRESS_ALLOW='' STATE_DISK=''
AVOTS_BASE_URL='https://api.avots.ai/openai/v1'
TELEGRAM_API_ROOT='https://api.telegram.org'
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  key=${line%%=*}
  value=${line#*=}
  case "$key" in
    OWNER_TELEGRAM_ID) OWNER_TELEGRAM_ID=$value ;;
    AVOTS_API_KEY) AVOTS_API_KEY=$value ;;
    AVOTS_BASE_URL) [ -z "$value" ] || AVOTS_BASE_URL=$value ;;
    TELEGRAM_API_ROOT) [ -z "$value" ] || TELEGRAM_API_ROOT=$value ;;
    TELEGRAM_BOT_TOKEN) TELEGRAM_BOT_TOKEN=$value ;;
    OPENCLAW_GATEWAY_TOKEN) OPENCLAW_GATEWAY_TOKEN=$value ;;
    EGRESS_ALLOW) EGRESS_ALLOW=$value ;;
    STATE_DISK) STATE_DISK=$value ;;
    *) die "$client_env: unknown key ${key}" ;;
  esac
done < "$client_env"

[[ $OWNER_TELEGRAM_ID =~ ^[1-9][0-9]{0,19}$ ]] || die "OWNER_TELEGRAM_ID must be a numeric Telegram user id"
[[ $AVOTS_API_KEY =~ ^[!-~]{8,}$ ]] || die "AVOTS_API_KEY is missing or malformed"
[[ $TELEGRAM_BOT_TOKEN =~ ^[0-9]{5,}:[A-Za-z0-9_-]{30,}$ ]] || die "TELEGRAM_BOT_TOKEN is missing or malformed"
[[ $AVOTS_BASE_URL =~ ^https?://[^[:space:]]+$ ]] || die "AVOTS_BASE_URL is not an http(s) URL"
[[ $TELEGRAM_API_ROOT =~ ^https?://[^[:space:]]+$ ]] || die "TELEGRAM_API_ROOT is not an http(s) URL"
if [ -z "$OPENCLAW_GATEWAY_TOKEN" ]; then
  OPENCLAW_GATEWAY_TOKEN=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
fi
[[ $OPENCLAW_GATEWAY_TOKEN =~ ^[A-Za-z0-9._~-]{32,}$ ]] || die "OPENCLAW_GATEWAY_TOKEN is too short or has unsafe characters"
[[ -z $STATE_DISK || ( $STATE_DISK =~ ^/dev/[A-Za-z0-9/._:-]+$ && $STATE_DISK != *..* ) ]] || die "STATE_DISK must be a device path under /dev"
# the OpenClaw release this image runs: the pin clawbake wrote into the compose file
image_release=$(sed -n 's/^# clawbake-pin: openclaw \([^ ]*\) .*/\1/p' "$root/docker-compose.yml" | head -n 1)
[ -n "$image_release" ] || die "$root/docker-compose.yml has no clawbake-pin line: which OpenClaw does this image run?"

# The egress allowlist: the model gateway's and the channel's hosts, plus the
# client's EGRESS_ALLOW (comma-separated host[:port]); `off` only by the
# client's explicit choice (`clawbake user-data --no-egress-allowlist`).
if [ "$EGRESS_ALLOW" = off ]; then
  egress=(off)
  echo "first-boot: WARNING: egress allowlist OFF by the client's explicit choice (EGRESS_ALLOW=off): the agent's egress is not restricted" >&2
else
  egress=("$(bash "$root/egress.sh" entries-from-url "$AVOTS_BASE_URL")") || die "AVOTS_BASE_URL: no egress entry"
  egress+=("$(bash "$root/egress.sh" entries-from-url "$TELEGRAM_API_ROOT")") || die "TELEGRAM_API_ROOT: no egress entry"
  IFS=, read -r -a extra <<<"$EGRESS_ALLOW"
  egress+=("${extra[@]}")
fi
bash "$root/egress.sh" check "${egress[@]}" >/dev/null || die "EGRESS_ALLOW is invalid (see above)"

# The client's state disk: found, formatted only when blank, or adopted.
# adopted: the OpenClaw release of the state this image takes over (empty: new state)
adopted=''
on_disk=0
if [ "$system" = 1 ]; then
  dev=$(bash "$root/state-disk.sh" find "$STATE_DISK") || die "the state disk cannot be found (above): the stack stays stopped"
  if [ -n "$dev" ]; then
    kind=$(bash "$root/state-disk.sh" prepare "$dev" "$state_mnt") || die "the state disk $dev cannot be used (above): the stack stays stopped"
    on_disk=1
  else
    echo "first-boot: WARNING: no state disk (a disk labelled or with serial openclaw-state, or STATE_DISK): this client's agent lives on the root disk, and moving to a new image will not keep it (docs/state.md)" >&2
  fi
elif [ -n "${OPENCLAW_STATE_MOUNT:-}" ]; then
  mkdir -p "$state_mnt"
  if [ -n "$(ls -A "$state_mnt")" ]; then kind=existing; else kind=new; fi
  on_disk=1
fi
if [ "$on_disk" = 1 ]; then
  # a file system the operator made and labelled, still empty: new state
  if [ "$kind" = existing ] && [ -z "$(find "$state_mnt" -mindepth 1 -maxdepth 1 ! -name lost+found -print -quit)" ]; then kind=new; fi
  if [ "$kind" = existing ]; then
    adopted=$(bash "$root/state-disk.sh" adopt "$state_mnt" "$OWNER_TELEGRAM_ID" "$image_release") || die "the state disk is not adopted (above): the stack stays stopped"
    [ -f "$state_mnt/openclaw/.env" ] || die "the adopted state has no openclaw/.env: the stack stays stopped"
    # OpenClaw's cache of the resolved providers (agents/<agent>/agent/models.json: endpoint and
    # key, from openclaw.json and .env) is made anew from the image's config and this user-data's
    # endpoints; the saved copy keeps the old one. Left in place, it sends model calls to the old endpoint.
    find "$state_mnt/openclaw/agents" -path '*/agent/models.json' -type f -delete 2>/dev/null || true
  fi
  mkdir -p "$state_mnt/openclaw" "$state_mnt/sandbox-home"
  # the V8 code cache belongs to the image (its OpenClaw's code), not to the client
  rm -rf "$state_mnt/openclaw/.compile-cache"
  if [ -d "$state/.compile-cache" ]; then cp -a "$state/.compile-cache" "$state_mnt/openclaw/.compile-cache"; fi
  if [ "$system" = 1 ]; then
    # mounted at every later boot; openclaw.service and the sandbox need the mounts (RequiresMountsFor)
    sed -i '/# clawbake-state$/d' /etc/fstab
    {
      echo "LABEL=openclaw-state $state_mnt ext4 nodev,nosuid,noatime,nofail,x-systemd.device-timeout=90s 0 2 # clawbake-state"
      echo "$state_mnt/openclaw $state none bind,nofail,x-systemd.requires-mounts-for=$state_mnt 0 0 # clawbake-state"
      echo "$state_mnt/sandbox-home /srv/openclaw-sandbox none bind,nofail,x-systemd.requires-mounts-for=$state_mnt 0 0 # clawbake-state"
    } >>/etc/fstab
    systemctl daemon-reload
    mkdir -p /srv/openclaw-sandbox
    mountpoint -q "$state" || mount "$state" || die "cannot bind $state_mnt/openclaw to $state: the stack stays stopped"
    mountpoint -q /srv/openclaw-sandbox || mount /srv/openclaw-sandbox || die "cannot bind $state_mnt/sandbox-home to /srv/openclaw-sandbox: the stack stays stopped"
    # docker.service too: at boot it restarts the gateway container itself, which must never
    # start on the root disk's empty state/ before the state disk is mounted
    for unit in docker.service openclaw.service openclaw-sandbox.socket; do
      install -d -m 0755 "/etc/systemd/system/$unit.d"
      printf '[Unit]\nRequiresMountsFor=%s /srv/openclaw-sandbox\n' "$state" >"/etc/systemd/system/$unit.d/clawbake-state.conf"
      chmod 0644 "/etc/systemd/system/$unit.d/clawbake-state.conf"
    done
  else
    state="$state_mnt/openclaw"
  fi
fi

mkdir -p "$state/sandbox"
chmod 0700 "$state" "$state/sandbox"

# Write a file atomically with mode 0600 (umask 077): temp file + rename.
put() {
  local dest=$1 tmp
  tmp=$(mktemp "$(dirname "$dest")/.first-boot.XXXXXX")
  cat > "$tmp"
  chmod 0600 "$tmp"
  mv -f "$tmp" "$dest"
}

# toolsBySender keys are not ${VAR}-expanded by OpenClaw: fill the owner id in.
# shellcheck disable=SC2016 # the literal ${OWNER_TELEGRAM_ID} placeholder
sed 's/\${OWNER_TELEGRAM_ID}/'"$OWNER_TELEGRAM_ID"'/g' "$root/openclaw.json" | put "$state/openclaw.json"

# An adopted state keeps the client's secrets as they are (the avots key, the bot
# token, the gateway token); the endpoints are this user-data's, the same ones the
# egress allowlist is rendered from.
if [ -n "$adopted" ]; then
  kept_value() { sed -n "s/^$1=//p" "$state/.env" | tail -n 1; }
  AVOTS_API_KEY=$(kept_value AVOTS_API_KEY)
  TELEGRAM_BOT_TOKEN=$(kept_value TELEGRAM_BOT_TOKEN)
  OPENCLAW_GATEWAY_TOKEN=$(kept_value OPENCLAW_GATEWAY_TOKEN)
  [[ $AVOTS_API_KEY =~ ^[!-~]{8,}$ && $TELEGRAM_BOT_TOKEN =~ ^[0-9]{5,}:[A-Za-z0-9_-]{30,}$ && $OPENCLAW_GATEWAY_TOKEN =~ ^[A-Za-z0-9._~-]{32,}$ ]] \
    || die "the adopted state's .env lacks a valid AVOTS_API_KEY, TELEGRAM_BOT_TOKEN or OPENCLAW_GATEWAY_TOKEN: the stack stays stopped"
fi
printf '%s\n' \
  "AVOTS_BASE_URL=$AVOTS_BASE_URL" \
  "AVOTS_API_KEY=$AVOTS_API_KEY" \
  "TELEGRAM_BOT_TOKEN=$TELEGRAM_BOT_TOKEN" \
  "TELEGRAM_API_ROOT=$TELEGRAM_API_ROOT" \
  "OPENCLAW_GATEWAY_TOKEN=$OPENCLAW_GATEWAY_TOKEN" \
  "OWNER_TELEGRAM_ID=$OWNER_TELEGRAM_ID" | put "$state/.env"

# The gateway's key for the sandbox, and the sandbox sshd's host key.
mkdir -p "$sandbox_etc"
chmod 0755 "$sandbox_etc"
[ -f "$state/sandbox/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C openclaw-gateway -f "$state/sandbox/id_ed25519"
[ -f "$sandbox_etc/ssh_host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C openclaw-sandbox -f "$sandbox_etc/ssh_host_ed25519_key"
printf '[openclaw-sandbox]:2222 %s\n' "$(cut -d' ' -f1,2 "$sandbox_etc/ssh_host_ed25519_key.pub")" | put "$state/sandbox/known_hosts"
printf 'restrict %s\n' "$(cut -d' ' -f1,2 "$state/sandbox/id_ed25519.pub")" | put "$sandbox_etc/authorized_keys"
chmod 0644 "$sandbox_etc/authorized_keys"
cp "$root/sandbox/sshd_config" "$sandbox_etc/sshd_config"
chmod 0644 "$sandbox_etc/sshd_config"

chown -R 1000:1000 "$state"
rm -f "$client_env"
if [ "$on_disk" = 1 ] && [ -z "$adopted" ]; then
  bash "$root/state-disk.sh" record "$state_mnt" "$OWNER_TELEGRAM_ID" "$image_release" || die "cannot record the state disk's owner and release"
fi

if [ "$system" = 0 ]; then
  echo "first-boot: state written to $state (system steps skipped)" >&2
  exit 0
fi

# The sandbox account: no password, no sudo, no docker group, home on /srv.
id sandbox >/dev/null 2>&1 || useradd --system --create-home --home-dir /srv/openclaw-sandbox --shell /bin/bash sandbox
# '*': no password can ever match, but not "locked" (sshd without PAM refuses locked accounts).
usermod -p '*' sandbox
install -d -o sandbox -g sandbox -m 0700 /srv/openclaw-sandbox /srv/openclaw-sandbox/workspaces /srv/openclaw-sandbox/.tmp
# an adopted home may come from an image that gave the account another uid
[ -z "$adopted" ] || chown -R sandbox:sandbox /srv/openclaw-sandbox
chown sandbox:sandbox "$sandbox_etc/ssh_host_ed25519_key"

# The egress allowlist, before anything of the agent runs: rendered for the
# sandbox uid, loaded, and required by Docker, the stack and the sandbox socket
# at every later boot. Any failure here stops first boot with the stack stopped.
bash "$root/egress.sh" render --uid "$(id -u sandbox)" "${egress[@]}" || die "the egress allowlist cannot be rendered: the stack stays stopped"
install -m 0644 "$root/egress/clawbake-egress.service" "$root/egress/clawbake-egress-dns.service" /etc/systemd/system/
for unit in docker.service openclaw.service openclaw-sandbox.socket; do
  install -d -m 0755 "/etc/systemd/system/$unit.d"
  install -m 0644 "$root/egress/requires-egress.conf" "/etc/systemd/system/$unit.d/clawbake-egress.conf"
done
systemctl daemon-reload
systemctl enable clawbake-egress.service clawbake-egress-dns.service 2>&1
systemctl reload-or-restart clawbake-egress.service || die "the egress rules cannot be applied (journalctl -u clawbake-egress): the stack stays stopped"
systemctl restart clawbake-egress-dns.service || die "the agent's resolver cannot start (journalctl -u clawbake-egress-dns): the stack stays stopped"
if [ "${egress[0]}" != off ]; then
  nft list table inet clawbake_egress >/dev/null || die "table inet clawbake_egress is not loaded: the stack stays stopped"
fi

install -m 0644 "$root/sandbox/openclaw-sandbox.socket" "$root/sandbox/openclaw-sandbox@.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now openclaw-sandbox.socket

# cloud-init's copies of this user-data (with the client's secrets) go now and after every later boot
install -m 0644 "$root/openclaw-forget-user-data.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable openclaw-forget-user-data.service 2>&1
bash "$root/forget-user-data.sh"
# ...and once more after cloud-final in this boot (enabling it now does not start it in this boot):
# --no-block queues the start, which waits for cloud-final, this script's own caller, to finish
systemctl start --no-block openclaw-forget-user-data.service

# An adopted state from another release: OpenClaw migrates it itself, before the
# gateway starts (`doctor --non-interactive`: its safe config and on-disk state
# migrations), in the gateway's own container settings. The copy from before is
# already saved under pre-upgrade/.
if [ -n "$adopted" ] && [ "$adopted" != "$image_release" ]; then
  echo "first-boot: migrating owner ${OWNER_TELEGRAM_ID}'s state from OpenClaw $adopted to $image_release (openclaw doctor --non-interactive)" >&2
  if ! out=$(docker compose --file "$root/docker-compose.yml" run --rm --no-deps -T openclaw-gateway node dist/index.js doctor --non-interactive 2>&1); then
    printf '%s\n' "$out" | tail -n 40 >&2
    die "OpenClaw $image_release could not migrate the state from $adopted (its words above); the copy from before is under $state_mnt/pre-upgrade/: the stack stays stopped"
  fi
  printf '%s\n' "$out" | tail -n 20 >&2
fi
if [ -n "$adopted" ]; then
  bash "$root/state-disk.sh" record "$state_mnt" "$OWNER_TELEGRAM_ID" "$image_release" || die "cannot record the state disk's release"
fi

# openclaw.service (enabled in the image) was skipped at boot: state/.env did not exist yet.
systemctl start openclaw.service
if [ -n "$adopted" ]; then
  echo "first-boot: OpenClaw $image_release is up (owner ${OWNER_TELEGRAM_ID}), on the state adopted from OpenClaw $adopted" >&2
else
  echo "first-boot: OpenClaw $image_release is up (owner ${OWNER_TELEGRAM_ID})$([ "$on_disk" = 1 ] && echo ", state on its own disk")" >&2
fi
