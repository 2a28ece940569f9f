#!/usr/bin/env bash
# First boot of a VM launched from the golden image (run by the cloud-init
# snippet, cloud-init.yaml). Turns the per-client values cloud-init wrote
# (client.env, root 0600) into OpenClaw's state and starts the stack:
#   state/openclaw.json  the shipped config with the owner id filled in (0600)
#   state/.env           the secrets OpenClaw reads itself (0600)
#   state/sandbox/       the gateway's SSH key and known_hosts for the sandbox
#   state/ (0700) and everything in it owned 1000:1000 (the image's `node`)
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
# Fails closed: any invalid value stops it before anything is written, and
# egress rules that cannot be applied leave the stack stopped.
set -euo pipefail
umask 077

root=${OPENCLAW_ROOT:-/opt/openclaw}
client_env=${1:-/run/openclaw-provision/client.env}
sandbox_etc=${OPENCLAW_SANDBOX_ETC:-/etc/openclaw-sandbox}
system=${OPENCLAW_FIRST_BOOT_SYSTEM:-1}
state="$root/state"

die() { echo "first-boot: $*" >&2; exit 1; }

[ -f "$client_env" ] || die "$client_env is missing (launch the VM with \`clawbake user-data\` output)"
[ -f "$root/openclaw.json" ] || die "$root/openclaw.json is missing"

# Parse KEY=VALUE lines without evaluating them (never `source` user data).
OWNER_TELEGRAM_ID='' AVOTS_API_KEY='' TELEGRAM_BOT_TOKEN='' OPENCLAW_GATEWAY_TOKEN='' EGRESS_ALLOW=''
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

if [ "$system" = 0 ]; then
  echo "first-boot: state written to $state (system steps skipped)" >&2
  exit 0
fi

# The sandbox account: no password, no sudo, no docker group, home on /srv.
id sandbox >/dev/null 2>&1 || useradd --system --create-home --home-dir /srv/openclaw-sandbox --shell /bin/bash sandbox
# '*': no password can ever match, but not "locked" (sshd without PAM refuses locked accounts).
usermod -p '*' sandbox
install -d -o sandbox -g sandbox -m 0700 /srv/openclaw-sandbox /srv/openclaw-sandbox/workspaces /srv/openclaw-sandbox/.tmp
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

# openclaw.service (enabled in the image) was skipped at boot: state/.env did not exist yet.
systemctl start openclaw.service
echo "first-boot: OpenClaw is up (owner ${OWNER_TELEGRAM_ID})" >&2
