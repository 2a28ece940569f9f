// Lay out the shipped openclaw.json the way first boot does, plus the few
// values only a gate run has: the loopback Bot API stand-in as the Telegram
// `apiRoot` and, in `--local` mode, the gateway port and the loopback sshd
// sandbox. Everything else (policy, tools, sandbox mode, dmPolicy, secrets
// as `${VAR}` references) is the shipped file, unchanged.
import { usageError, ClawbakeError } from '../errors.ts'

export interface SandboxSsh {
  target: string
  identityFile: string
  knownHostsFile: string
  workspaceRoot: string
}

export interface LayoutOverlay {
  /** the client's Telegram user id: first boot writes it into the file (object keys are not `${VAR}`-expanded by OpenClaw) */
  ownerId: string
  /** channels.telegram.apiRoot: the Bot API stand-in */
  apiRoot: string
  gatewayPort?: number
  /** gateway.bind: `--local` runs OpenClaw on this machine itself, where the shipped "lan" (meant for its container's own network namespace) would be every interface */
  bind?: 'loopback'
  sandboxSsh?: SandboxSsh
}

type Json = Record<string, any>

/** `${OWNER_TELEGRAM_ID}` is filled in as text, exactly where first boot fills it; secrets stay `${VAR}` references. */
export function layOutConfig(shipped: string, overlay: LayoutOverlay, file = 'packer/files/openclaw.json'): string {
  if (!/^\d+$/.test(overlay.ownerId)) throw usageError(`owner id must be a Telegram user id (digits), got ${JSON.stringify(overlay.ownerId)}`)
  let cfg: Json
  try {
    cfg = JSON.parse(shipped.replaceAll('${OWNER_TELEGRAM_ID}', overlay.ownerId)) as Json
  } catch (e) {
    throw new ClawbakeError(`not valid JSON: ${(e as Error).message}`, { file, rule: 'gates.config-json' })
  }
  const at = (path: string[]): Json => {
    let node: Json = cfg
    for (const key of path) {
      if (node[key] === undefined) node[key] = {}
      if (typeof node[key] !== 'object' || node[key] === null) throw new ClawbakeError(`${path.join('.')} is not an object`, { file, field: path.join('.'), rule: 'gates.config-shape' })
      node = node[key] as Json
    }
    return node
  }
  at(['channels', 'telegram']).apiRoot = overlay.apiRoot
  if (overlay.gatewayPort !== undefined) at(['gateway']).port = overlay.gatewayPort
  if (overlay.bind !== undefined) at(['gateway']).bind = overlay.bind
  if (overlay.sandboxSsh) {
    const ssh = at(['agents', 'defaults', 'sandbox', 'ssh'])
    Object.assign(ssh, overlay.sandboxSsh)
  }
  return JSON.stringify(cfg, null, 2) + '\n'
}

/** Object keys that still hold a `${VAR}` after first-boot layout: OpenClaw never expands them. */
export function unexpandedKeys(text: string): string[] {
  const found: string[] = []
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`))
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (/\$\{[A-Z_][A-Z0-9_]*\}/.test(k)) found.push(`${path}${path ? '.' : ''}${k}`)
        walk(x, `${path}${path ? '.' : ''}${k}`)
      }
    }
  }
  walk(JSON.parse(text), '')
  return found
}
