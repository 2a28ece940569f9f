#!/usr/bin/env bash
# The agent's egress allowlist (docs/egress.md). The OpenClaw containers (the
# openclaw0 bridge) and the `sandbox` user may reach only the allowed
# host:port entries, over TCP and IPv4, and resolve only the allowed names,
# through dnsmasq on the bridge address; everything else is refused, counted
# and logged. The VM's own traffic (root, apt, Docker pulls, time sync) is
# left alone. What listens on the bridge address (the sandbox sshd, the
# resolver) answers only on the bridge and to the VM itself, and nothing
# forwarded into the bridge from another interface starts a connection to a
# container (but what Docker's port mapping DNATs), so a neighbour that routes
# the compose network through the VM reaches neither. The sandbox user
# reaches no loopback port (it needs none: its sshd gets its connection from
# the socket unit, its DNS is redirected to the resolver on the bridge
# address). Two parts, both from the Debian base:
#   nftables  table inet clawbake_egress: its own base chains (forward, input,
#             output) at priority filter - 10, so a refusal there is final
#             whatever Docker's iptables rules accept; Docker never touches it
#   dnsmasq   the agent's only resolver: forwards only the allowed names to
#             the VM's upstream servers and puts their addresses in the
#             nftables sets (nftset=) before it answers
#
# usage:
#   egress.sh check ENTRY...         validate entries (host[:port], IPv4[/24-32][:port], or `off`)
#   egress.sh render [--uid N] ENTRY...
#                                    record the allowlist and render the nft rules ($EGRESS_ETC)
#   egress.sh apply                  load the rendered rules atomically (clawbake-egress.service);
#                                    with nothing rendered yet, the closed default: the agent reaches nothing
#   egress.sh dns                    render dnsmasq's config and run it in the foreground (clawbake-egress-dns.service)
#   egress.sh entries-from-url URL   the default entry of an http(s) URL (host:port)
# Environment: EGRESS_ETC (default /etc/clawbake/egress), EGRESS_UPSTREAM_RESOLV
# (where the upstream servers are listed, default /etc/resolv.conf),
# EGRESS_SET_TIMEOUT (seconds, 2-86400, default 3600: how long an address the
# resolver put in a dns_p<port> set stays there; read by render, by apply's
# closed default and by dns, which caps the TTL it hands out at a tenth of it,
# at most 60 s).
set -euo pipefail
umask 022

etc=${EGRESS_ETC:-/etc/clawbake/egress}
upstream_resolv=${EGRESS_UPSTREAM_RESOLV:-/etc/resolv.conf}
table=clawbake_egress
bridge=openclaw0
bridge_addr=172.31.240.1
bridge_net=172.31.240.0/24
gateway_port=18789
sandbox_ssh_port=2222

die() { echo "egress: $*" >&2; exit 1; }

# EGRESS_SET_TIMEOUT, validated, on stdout (seconds).
set_timeout() {
  local s=${EGRESS_SET_TIMEOUT-3600}
  if ! [[ $s =~ ^[1-9][0-9]{0,4}$ ]] || [ "$s" -lt 2 ] || [ "$s" -gt 86400 ]; then
    die "EGRESS_SET_TIMEOUT=${s}: give whole seconds, 2-86400"
  fi
  echo "$s"
}

# One entry -> `host:port` on stdout (lowercase host, default port 443), or die naming it.
normalize() {
  local entry=$1 host port=443 octet
  case "$entry" in
    *'*'* | *'?'*) die "EGRESS_ALLOW: ${entry}: wildcards are not allowed (name each host)" ;;
    *'['* | *']'*) die "EGRESS_ALLOW: ${entry}: IPv6 is not allowed (the agent has IPv4 egress only)" ;;
    *://*) die "EGRESS_ALLOW: ${entry}: give host[:port], not a URL" ;;
  esac
  host=${entry%%:*}
  if [ "$host" != "$entry" ]; then
    port=${entry#*:}
    if ! [[ $port =~ ^[1-9][0-9]{0,4}$ ]] || [ "$port" -gt 65535 ]; then die "EGRESS_ALLOW: ${entry}: the port must be 1-65535"; fi
  fi
  host=${host,,}
  if [[ $host =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(/[0-9]+)?$ ]]; then
    local addr=${host%%/*} prefix=32
    [ "$addr" = "$host" ] || prefix=${host#*/}
    for octet in ${addr//./ }; do
      if ! [[ $octet =~ ^(0|[1-9][0-9]{0,2})$ ]] || [ "$octet" -gt 255 ]; then die "EGRESS_ALLOW: ${entry}: not an IPv4 address"; fi
    done
    if [ "$prefix" -lt 24 ] || [ "$prefix" -gt 32 ]; then die "EGRESS_ALLOW: ${entry}: a range wider than /24 is not allowed"; fi
    case "$addr" in
      169.254.*) die "EGRESS_ALLOW: ${entry}: link-local addresses (the cloud metadata service) are never allowed" ;;
      0.* | 22[4-9].* | 2[3-5][0-9].*) die "EGRESS_ALLOW: ${entry}: not a unicast address" ;;
      172.31.240.*) [ "$addr/$prefix" = "$bridge_addr/32" ] || [ "$host" = "$bridge_addr" ] || die "EGRESS_ALLOW: ${entry}: the compose network ($bridge_net) is not an egress destination" ;;
    esac
    # a range is stored as its network address
    if [ "$prefix" != 32 ]; then
      local a b c d
      IFS=. read -r a b c d <<<"$addr"
      local n=$(( (a << 24 | b << 16 | c << 8 | d) & (0xffffffff << (32 - prefix)) & 0xffffffff ))
      host="$((n >> 24 & 255)).$((n >> 16 & 255)).$((n >> 8 & 255)).$((n & 255))/$prefix"
    else
      host=$addr
    fi
  elif [[ $host =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$ ]] && [ "${#host}" -le 253 ]; then
    :
  else
    die "EGRESS_ALLOW: ${entry}: not a host name (fully qualified, letters, digits, hyphens) or an IPv4 address"
  fi
  printf '%s:%s\n' "$host" "$port"
}

# All entries -> normalized, unique, one per line; `off` alone means disabled.
entries() {
  local e
  if [ "$#" -eq 1 ] && [ "$1" = off ]; then echo off; return; fi
  for e in "$@"; do
    [ "$e" != off ] || die "EGRESS_ALLOW: off cannot be combined with entries"
    [ -n "$e" ] || continue
    normalize "$e"
  done | sort -u
}

entry_from_url() {
  local url=$1 scheme rest hostport port
  [[ $url =~ ^(https?)://([^/?#]+) ]] || die "$url: not an http(s) URL"
  scheme=${BASH_REMATCH[1]}
  rest=${BASH_REMATCH[2]}
  case "$rest" in *@*) die "$url: credentials in the URL are not allowed" ;; esac
  hostport=$rest
  if [[ $hostport == *:* ]]; then port=${hostport##*:}; hostport=${hostport%:*}
  elif [ "$scheme" = http ]; then port=80
  else port=443
  fi
  normalize "$hostport:$port"
}

# The nft ruleset for the recorded allowlist ($1: file of host:port lines), the sandbox uid ($2, may be empty)
# and the lifetime of the resolver's addresses ($3, seconds).
render_nft() {
  local list=$1 uid=$2 timeout=$3 ports port host
  ports=$(cut -d: -f2 "$list" | sort -nu)
  echo "# rendered by egress.sh from $etc/allowlist; loaded by clawbake-egress.service (nft -f, atomic)"
  echo "table inet $table"
  echo "delete table inet $table"
  echo "table inet $table {"
  echo "  counter refused_forward { comment \"from the $bridge bridge to elsewhere, or into it from elsewhere\" }"
  echo "  counter refused_input { comment \"to the VM itself from the $bridge bridge, or to the bridge address from elsewhere\" }"
  echo "  counter refused_sandbox { comment \"from the sandbox user\" }"
  for port in $ports; do
    # an address expires $timeout s after the resolver first added it (adding it again does not
    # refresh it); the next lookup after that adds it again
    echo "  set dns_p$port { type ipv4_addr; flags timeout; timeout ${timeout}s; comment \"fed by dnsmasq: allowed names on port $port\"; }"
    local lits=()
    while IFS=: read -r host _; do lits+=("$host"); done < <(grep -E "^[0-9./]+:$port\$" "$list" || true)
    if ((${#lits[@]})); then
      local joined
      joined=$(printf '%s, ' "${lits[@]}")
      echo "  set lit_p$port { type ipv4_addr; flags interval; elements = { ${joined%, } }; }"
    fi
  done
  echo "  chain allowed {"
  for port in $ports; do
    echo "    ip daddr @dns_p$port tcp dport $port accept"
    grep -qE "^[0-9./]+:$port\$" "$list" && echo "    ip daddr @lit_p$port tcp dport $port accept"
  done
  echo "  }"
  for chain in forward input sandbox; do
    echo "  chain refuse_$chain {"
    echo "    counter name refused_$chain"
    echo "    limit rate 10/second burst 20 packets log prefix \"clawbake-egress: refused $chain: \" level warn"
    echo "    reject with icmpx admin-prohibited"
    echo "  }"
  done
  # forward: out of the bridge only the allowlist; into it from another interface only replies and
  # what Docker's port mapping DNATs, never a new connection of a neighbour that routes the compose
  # network through the VM
  cat <<NFT
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
    ct state established,related accept
    iifname != "$bridge" oifname "$bridge" ct status dnat accept
    iifname != "$bridge" oifname "$bridge" goto refuse_forward
    iifname != "$bridge" accept
    meta nfproto ipv6 goto refuse_forward
    jump allowed
    goto refuse_forward
  }
  chain input {
    type filter hook input priority filter - 10; policy accept;
    iifname "lo" accept
    ct state established,related accept
    iifname != "$bridge" ip daddr $bridge_net goto refuse_input
    iifname != "$bridge" accept
    meta nfproto ipv6 goto refuse_input
    ip daddr $bridge_addr meta l4proto { tcp, udp } th dport 53 accept
    ip daddr $bridge_addr tcp dport $sandbox_ssh_port accept
    jump allowed
    goto refuse_input
  }
NFT
  [ -n "$uid" ] || { echo "}"; return; }
  cat <<NFT
  chain sandbox_dns {
    type nat hook output priority -100; policy accept;
    meta nfproto ipv4 meta skuid $uid meta l4proto { tcp, udp } th dport 53 dnat ip to $bridge_addr:53
  }
  chain output {
    type filter hook output priority filter - 10; policy accept;
    meta skuid != $uid accept
    ct state established,related accept
    meta nfproto ipv6 goto refuse_sandbox
    ip daddr $bridge_addr meta l4proto { tcp, udp } th dport 53 accept
    ip daddr 127.0.0.0/8 tcp dport $gateway_port goto refuse_sandbox
    jump allowed
    goto refuse_sandbox
  }
}
NFT
}

cmd=${1:-}
[ "$#" -eq 0 ] || shift
case "$cmd" in
  check)
    entries "$@"
    ;;
  entries-from-url)
    [ "$#" -eq 1 ] || die "usage: egress.sh entries-from-url URL"
    entry_from_url "$1"
    ;;
  render)
    uid=''
    if [ "${1:-}" = --uid ]; then uid=${2:-}; shift 2; fi
    [ -z "$uid" ] || [[ $uid =~ ^[1-9][0-9]*$ ]] || die "--uid must be a numeric uid other than 0"
    list=$(entries "$@")
    timeout=$(set_timeout)
    install -d -m 0755 "$etc"
    tmp=$(mktemp "$etc/.allowlist.XXXXXX")
    printf '%s\n' "$list" | sed '/^$/d' > "$tmp"
    if [ "$list" = off ]; then
      printf '%s\n' "# the allowlist is OFF: the client chose it explicitly (EGRESS_ALLOW=off); the agent's egress is not restricted" > "$tmp.nft"
    else
      render_nft "$tmp" "$uid" "$timeout" > "$tmp.nft"
    fi
    nft -c -f "$tmp.nft" || { rm -f "$tmp" "$tmp.nft"; die "nft refuses the rendered rules"; }
    chmod 0644 "$tmp" "$tmp.nft"
    mv -f "$tmp.nft" "$etc/egress.nft"
    mv -f "$tmp" "$etc/allowlist"
    echo "egress: allowlist rendered ($(paste -sd, "$etc/allowlist" | sed 's/^$/nothing/'))${uid:+, sandbox uid $uid}" >&2
    ;;
  apply)
    if [ "$(cat "$etc/allowlist" 2>/dev/null)" = off ]; then
      nft delete table inet "$table" 2>/dev/null || true
      echo "egress: WARNING: the allowlist is OFF by the client's explicit choice (EGRESS_ALLOW=off): the agent's egress is not restricted" >&2
      exit 0
    fi
    if [ ! -f "$etc/egress.nft" ]; then
      timeout=$(set_timeout)
      empty=$(mktemp)
      trap 'rm -f "$empty"' EXIT
      render_nft "$empty" '' "$timeout" | nft -f - || die "cannot load the closed default rules"
      echo "egress: no allowlist rendered yet (before first boot): the agent reaches nothing" >&2
      exit 0
    fi
    nft -f "$etc/egress.nft" || die "cannot load $etc/egress.nft: the agent stays cut off"
    nft list table inet "$table" >/dev/null || die "table inet $table is missing after loading it"
    echo "egress: rules loaded ($(grep -c . "$etc/allowlist" || true) allowed entries)" >&2
    ;;
  dns)
    conf=$etc/dnsmasq.conf
    timeout=$(set_timeout)
    # clients re-resolve well before an address leaves its set: a tenth of its lifetime, at most 60 s
    max_ttl=$((timeout / 10 > 60 ? 60 : timeout / 10 < 1 ? 1 : timeout / 10))
    tmp=$(mktemp "$etc/.dnsmasq.XXXXXX")
    mapfile -t servers < <(awk '$1 == "nameserver" { print $2 }' "$upstream_resolv" | grep -vxF "$bridge_addr" || true)
    ((${#servers[@]})) || die "no upstream name server in $upstream_resolv"
    {
      echo "# rendered by egress.sh dns from $etc/allowlist and $upstream_resolv"
      echo "conf-file=/dev/null"
      echo "no-resolv"
      echo "no-hosts"
      echo "no-poll"
      echo "domain-needed"
      echo "listen-address=$bridge_addr"
      echo "bind-dynamic"
      echo "port=53"
      echo "cache-size=0"
      echo "log-queries"
      echo "log-facility=-"
      echo "pid-file="
      if [ "$(cat "$etc/allowlist" 2>/dev/null)" = off ]; then
        for s in "${servers[@]}"; do echo "server=$s"; done
      else
        echo "filter-AAAA"
        echo "max-ttl=$max_ttl"
        # exact names only: the name is forwarded, its subdomains are not (NXDOMAIN)
        # one line per name, with the set of each of its ports
        while read -r host sets; do
          for s in "${servers[@]}"; do echo "server=/$host/$s"; done
          echo "local=/*.$host/"
          echo "nftset=/$host/$sets"
        done < <(awk -F: -v t="$table" '$1 !~ /^[0-9.\/]+$/ { s[$1] = (s[$1] ? s[$1] "," : "") "4#inet#" t "#dns_p" $2 } END { for (h in s) print h, s[h] }' "$etc/allowlist" 2>/dev/null | sort)
      fi
    } > "$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$conf"
    exec dnsmasq --keep-in-foreground --conf-file="$conf"
    ;;
  *)
    die "usage: egress.sh check|render|apply|dns|entries-from-url ..."
    ;;
esac
