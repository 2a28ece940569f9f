#!/usr/bin/env bash
# avots smoke test: can the model gateway really call tools?
#
# One direct POST to $AVOTS_BASE_URL/chat/completions with one tool
# definition, non-streamed and streamed. PASS only when the answer carries a
# tool call to that tool (message.tool_calls, or delta.tool_calls in the
# stream); a text-only answer is a FAIL, however plausible its text.
#
# usage: avots-smoke.sh [both|non-stream|stream]      (default: both)
#   AVOTS_API_KEY   required; sent from a 0600 header file, never on argv
#   AVOTS_BASE_URL  default https://api.avots.ai/openai/v1
#   AVOTS_MODEL     default anthropic/claude-opus-4.8
# Exit: 0 every mode PASS, 1 any FAIL, 2 usage or missing prerequisite.
set -euo pipefail

mode=${1:-both}
base=${AVOTS_BASE_URL:-https://api.avots.ai/openai/v1}
base=${base%/}
model=${AVOTS_MODEL:-anthropic/claude-opus-4.8}
tool=clawbake_smoke_echo

case "$mode" in both|non-stream|stream) ;; *) echo "usage: $0 [both|non-stream|stream]" >&2; exit 2 ;; esac
for cmd in curl python3; do
  command -v "$cmd" >/dev/null || { echo "avots-smoke: $cmd is required" >&2; exit 2; }
done
[ -n "${AVOTS_API_KEY:-}" ] || { echo "avots-smoke: AVOTS_API_KEY is not set" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
( umask 077; printf 'Authorization: Bearer %s\n' "$AVOTS_API_KEY" > "$work/auth" )
nonce=$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')

# request body: $1 = true|false (stream)
request() {
  python3 - "$model" "$tool" "$nonce" "$1" <<'PY'
import json, sys
model, tool, nonce, stream = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "true"
print(json.dumps({
    "model": model,
    "stream": stream,
    "max_tokens": 256,
    "messages": [{"role": "user", "content": f"Call the {tool} tool with text \"{nonce}\". Do not answer in prose."}],
    "tools": [{"type": "function", "function": {
        "name": tool,
        "description": "Echo a text back (connectivity check).",
        "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    }}],
    "tool_choice": "required",
}))
PY
}

# verdict on a response body: $1 = true|false (stream), $2 = file
verdict() {
  python3 - "$tool" "$1" "$2" <<'PY'
import json, sys
tool, stream, path = sys.argv[1], sys.argv[2] == "true", sys.argv[3]
raw = open(path, encoding="utf-8", errors="replace").read()
names, text = [], ""
try:
    if stream:
        for line in raw.splitlines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if not data or data == "[DONE]":
                continue
            for choice in json.loads(data).get("choices") or []:
                delta = choice.get("delta") or {}
                text += delta.get("content") or ""
                for call in delta.get("tool_calls") or []:
                    name = (call.get("function") or {}).get("name")
                    if name:
                        names.append(name)
    else:
        for choice in json.loads(raw).get("choices") or []:
            message = choice.get("message") or {}
            text += message.get("content") or ""
            for call in message.get("tool_calls") or []:
                names.append((call.get("function") or {}).get("name"))
except (ValueError, AttributeError) as e:
    print(f"unparseable response ({e.__class__.__name__})")
    sys.exit(1)
if tool in names:
    print(f"tool_calls [{', '.join(n for n in names if n)}]")
    sys.exit(0)
if names:
    print(f"tool_calls for other tools only [{', '.join(n for n in names if n)}]")
else:
    print(f"text-only answer ({len(text)} chars), no tool_calls")
sys.exit(1)
PY
}

failed=0
run() {
  local name=$1 stream=$2 status why
  request "$stream" > "$work/request.json"
  if ! status=$(curl -sS --max-time 90 -o "$work/response" -w '%{http_code}' \
      -H @"$work/auth" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
      --data-binary @"$work/request.json" "$base/chat/completions" 2>"$work/curl.err"); then
    echo "FAIL $name: request failed: $(tr -d '\n' < "$work/curl.err")"
    failed=1
    return
  fi
  if [ "$status" != 200 ]; then
    echo "FAIL $name: HTTP $status from $base/chat/completions"
    failed=1
    return
  fi
  if why=$(verdict "$stream" "$work/response"); then
    echo "PASS $name: $why"
  else
    echo "FAIL $name: $why"
    failed=1
  fi
}

[ "$mode" = stream ] || run non-stream false
[ "$mode" = non-stream ] || run stream true
exit "$failed"
