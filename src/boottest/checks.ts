// The checks of a client's freshly booted VM that are not conversations:
// what cloud-init and first boot did, what runs, where the client's secrets
// are, that the VM is a new machine, and that nothing of the build is left.
// Each reads the VM over SSH and returns a Verdict naming what it saw.
import { ClawbakeError } from '../errors.ts'
import { fail, pass, type Verdict } from '../gates/gate.ts'
import { OPENCLAW_ROOT, SANDBOX_HOME } from '../gates/host-compose.ts'
import { tail } from '../proc/run.ts'
import { BUILD_USER } from '../bake/seed.ts'
import type { Ssh } from './ssh.ts'
import { gatewayContainer } from './ssh-host.ts'

/** The build VM's identity, recorded before the scrub: the fresh VM must not share it. */
export interface MachineIdentity {
  machineId: string
  /** `ssh-keygen -lf` fingerprints of the SSH host keys (SHA256:...) */
  hostKeys: string[]
}

/** A build identity record, checked: what the bake downloaded or --build-identity names. */
export function assertIdentity(v: unknown, file: string): MachineIdentity {
  const o = v as MachineIdentity
  if (!o || typeof o.machineId !== 'string' || !Array.isArray(o.hostKeys) || !o.hostKeys.every(k => typeof k === 'string' && /^SHA256:/.test(k))) {
    throw new ClawbakeError('a build identity is {"machineId": "<32 hex>", "hostKeys": ["SHA256:...", ...]}', { file, rule: 'boot-test.identity-invalid' }, 2)
  }
  return { machineId: o.machineId, hostKeys: [...o.hostKeys].sort() }
}

/** cloud-init ran to the end, every stage without an error (recoverable warnings are named, not failed). */
export async function cloudInitDone(ssh: Ssh, timeoutMs: number): Promise<Verdict & { long: string }> {
  const r = await ssh.exec('cloud-init status --wait --long', { sudo: true, timeoutMs })
  // `--wait` prints a dot a poll before the status, on the same line
  const long = (r.stdout + r.stderr).trim().replace(/^\.+/gm, '')
  const status = /^status: (\S+)/m.exec(long)?.[1] ?? 'unknown'
  const errors = /^errors:\s*(\[\s*\]|\n(?:\s+-.*\n?)+|.*)$/m.exec(long)?.[1]?.trim() ?? ''
  const noErrors = errors === '[]' || errors === ''
  if (r.timedOut) return { ...fail(`cloud-init did not finish within ${Math.round(timeoutMs / 1000)} s: ${tail(long, 6)}`), long }
  if (status !== 'done' || !noErrors || (r.code !== 0 && r.code !== 2)) return { ...fail(`cloud-init status ${status} (exit ${r.code}): ${tail(long, 14)}`), long }
  const recoverable = /^recoverable_errors:\s*(.*)$/m.exec(long)?.[1]?.trim()
  return { ...pass(`cloud-init status done, errors []${r.code === 2 && recoverable && recoverable !== '{}' ? `, recoverable: ${tail(long.slice(long.indexOf('recoverable_errors')), 6)}` : ''}`), long }
}

/** When the first boot fails: cloud-init's own account, first boot's output, the unit's journal and the containers. */
export async function firstBootEvidence(ssh: Ssh): Promise<string> {
  const r = await ssh.exec([
    'echo "== cloud-init status --long"; cloud-init status --long',
    'echo "== first-boot.sh (cloud-init-output.log)"; grep -a "first-boot:" /var/log/cloud-init-output.log | tail -n 10',
    'echo "== cloud-init-output.log (tail)"; tail -n 12 /var/log/cloud-init-output.log',
    'echo "== journalctl -u openclaw.service"; journalctl -u openclaw.service --no-pager -n 25 -o cat',
    'echo "== docker ps -a"; docker ps -a --format "{{.Names}} {{.Status}}"; echo "(end)"',
    'for c in $(docker ps -aq); do echo "== docker logs $c"; docker logs --tail 20 "$c" 2>&1; done',
  ].join('; '), { sudo: true, timeoutMs: 120_000 })
  return (r.stdout + r.stderr).trim().slice(-6000)
}

/** The pinned reference the image carries: its compose file's OpenClaw image (every service has the same pin). */
export async function shippedPin(ssh: Ssh): Promise<string | null> {
  const r = await ssh.exec(`cat ${OPENCLAW_ROOT}/docker-compose.yml`, { sudo: true })
  return /^\s*image:\s*["']?(ghcr\.io\/openclaw\/openclaw:[^\s"'@]+@sha256:[0-9a-f]{64})/m.exec(r.stdout)?.[1] ?? null
}

/** The release tag of a pinned reference (`...:2026.7.35@sha256:...` -> 2026.7.35). */
export function tagOfRef(ref: string): string {
  return /:([^/:@]+)@sha256:/.exec(ref)?.[1] ?? ''
}

/**
 * openclaw.service active; its containers run the pin the image carries (and, when the bake or catalog says
 * what it must be, that pin); no image was pulled since Docker started.
 */
export async function stackFromImage(ssh: Ssh, expected: string | null): Promise<Verdict> {
  const shipped = await shippedPin(ssh)
  if (!shipped) return fail(`${OPENCLAW_ROOT}/docker-compose.yml on the VM pins no ghcr.io/openclaw/openclaw:<tag>@sha256:<digest>`)
  if (expected && shipped !== expected) return fail(`the image ships the pin ${shipped}, not ${expected}`)
  const pinnedRef = shipped
  const unit = (await ssh.exec('systemctl is-active openclaw.service', { sudo: true })).stdout.trim()
  if (unit !== 'active') return fail(`openclaw.service is ${unit || 'unknown'}`)
  const id = await gatewayContainer(ssh)
  if (!id) return fail('openclaw.service is active but there is no openclaw-gateway container')
  const ins = await ssh.exec(`docker inspect -f '{{.Config.Image}} {{.State.Status}}' ${id}`, { sudo: true })
  const [ref, state] = ins.stdout.trim().split(' ')
  if (ref !== pinnedRef) return fail(`the gateway container runs ${ref}, not the pinned ${pinnedRef}`)
  if (state !== 'running') return fail(`the gateway container is ${state}`)
  const digest = pinnedRef.split('@')[1] ?? ''
  const repo = pinnedRef.split('@')[0]?.replace(/:[^/:]+$/, '') ?? ''
  const rd = await ssh.exec(`docker image inspect -f '{{join .RepoDigests " "}}' ${pinnedRef}`, { sudo: true })
  if (!rd.stdout.split(/\s+/).includes(`${repo}@${digest}`)) return fail(`the image ${pinnedRef} does not carry the repo digest ${repo}@${digest} (${rd.stdout.trim() || rd.stderr.trim()})`)
  // dockerd keeps its events since it started: a pull at boot would be one
  const since = (await ssh.exec("date -d \"$(systemctl show -p ActiveEnterTimestamp --value docker.service)\" +%s", { sudo: true })).stdout.trim()
  const pulls = await ssh.exec(`docker events --since ${since || 0} --until "$(date +%s)" --filter type=image --filter event=pull --format '{{.Actor.ID}}'`, { sudo: true, timeoutMs: 60_000 })
  if (pulls.code !== 0) return fail(`docker events failed: ${pulls.stderr.trim()}`)
  const pulled = pulls.stdout.trim().split('\n').filter(Boolean)
  if (pulled.length) return fail(`Docker pulled at boot: ${pulled.join(', ')}`)
  return pass(`${expected ? '' : 'the pin the image carries (no catalog entry to compare with); '}openclaw.service active; openclaw-gateway runs ${pinnedRef} (${repo}@${digest} in the image store of the VM); no image pull since docker.service started`)
}

/** The run's secrets, as a root-only file on the VM (stdin, never a command line: sudo logs those). */
async function withSecretsFile<T>(ssh: Ssh, secrets: string[], body: (file: string) => Promise<T>): Promise<T> {
  const file = '/run/clawbake-boot-test.secrets'
  const put = await ssh.exec(`umask 077; cat > ${file}`, { sudo: true, input: secrets.join('\n') + '\n' })
  if (put.code !== 0) throw new Error(`cannot write the secrets pattern file on the VM: ${put.stderr.trim()}`)
  try {
    return await body(file)
  } finally {
    await ssh.exec(`rm -f ${file}`, { sudo: true })
  }
}

/** OpenClaw's model cache in the state dir: state/agents/<agent>/agent/models.json. */
const MODEL_CACHE = new RegExp(`^${OPENCLAW_ROOT}/state/agents/[^/]+/agent/models\\.json$`)

/** Which of the searched places hold a secret: a file path, or 'docker inspect', 'journal', 'docker logs <name>'. */
const SEARCHED = ['/etc', '/home', '/opt', '/root', '/srv', '/var/lib/cloud', '/var/lib/docker/containers', '/var/lib/docker/volumes', '/var/log', '/var/tmp', '/tmp', '/run']

export async function clientSecrets(ssh: Ssh, secrets: { name: string; value: string }[]): Promise<Verdict> {
  const env = `${OPENCLAW_ROOT}/state/.env`
  const st = (await ssh.exec(`stat -c '%a %u %g' ${env}`, { sudo: true })).stdout.trim()
  const problems: string[] = []
  const facts: string[] = []
  if (st !== '600 1000 1000') problems.push(`${env} is ${st || 'missing'} (mode uid gid), not 600 1000 1000`)
  else facts.push(`${env} 0600 1000:1000`)
  const owner = (await ssh.exec('getent passwd 1000')).stdout.trim().split(':')
  if (!/(nologin|false)$/.test(owner[6] ?? '')) problems.push(`uid 1000 (${owner[0] ?? 'none'}) is a login account (${owner[6] ?? 'no shell'})`)
  // every account with a login shell, root aside, tries to read it
  const readers = await ssh.exec(`getent passwd | awk -F: '$3 != 0 && $7 !~ /(nologin|false|sync)$/ {print $1}' | while read -r u; do runuser -u "$u" -- test -r ${env} && echo "$u"; done`, { sudo: true })
  const canRead = readers.stdout.trim().split('\n').filter(Boolean)
  if (canRead.length) problems.push(`readable by login user(s) ${canRead.join(', ')}`)
  else facts.push('readable by no login user')
  const found = await withSecretsFile(ssh, secrets.map(s => s.value), async pat => {
    const files = await ssh.exec(`grep -rlsF -f ${pat} ${SEARCHED.join(' ')} 2>/dev/null | grep -vx ${pat}`, { sudo: true, timeoutMs: 600_000 })
    const other = await ssh.exec([
      `docker inspect $(docker ps -aq) | grep -qF -f ${pat} && echo 'docker inspect'`,
      `journalctl --no-pager -o cat | grep -qF -f ${pat} && echo 'the journal'`,
      `for c in $(docker ps -aq); do docker logs "$c" 2>&1 | grep -qF -f ${pat} && echo "docker logs $(docker inspect -f '{{.Name}}' "$c")"; done`,
      'true',
    ].join('; '), { sudo: true, timeoutMs: 300_000 })
    return [...files.stdout.trim().split('\n'), ...other.stdout.trim().split('\n')].filter(Boolean)
  })
  // OpenClaw's own model cache: a running gateway writes the resolved provider key into
  // state/agents/<agent>/agent/models.json. It is in the state dir beside .env, as private as .env is
  // (uid 1000, the container's own, which holds the key in its environment anyway; no login user can read
  // it): the same trust boundary, so it is allowed on those terms and checked for them.
  const caches = found.filter(f => MODEL_CACHE.test(f))
  for (const f of caches) {
    const cst = (await ssh.exec(`stat -c '%a %u' ${f}`, { sudo: true })).stdout.trim()
    const who = await ssh.exec(`getent passwd | awk -F: '$3 != 0 && $7 !~ /(nologin|false|sync)$/ {print $1}' | while read -r u; do runuser -u "$u" -- test -r ${f} && echo "$u"; done`, { sudo: true })
    const readers = who.stdout.trim().split('\n').filter(Boolean)
    if (!/^\d+ 1000$/.test(cst) || readers.length) problems.push(`OpenClaw's model cache ${f} holds a client secret and is ${cst || 'unreadable'} (mode uid)${readers.length ? `, readable by ${readers.join(', ')}` : ''}: not as private as ${env}`)
    else facts.push(`OpenClaw's model cache ${f} (mode ${cst.split(' ')[0]}, uid 1000, readable by no login user) holds the resolved avots key, as OpenClaw writes it`)
  }
  // the unit ran in this boot (an exit timestamp), successfully, and said what it removed
  const forget = await ssh.exec('for p in Result ExecMainStatus ExecMainExitTimestampMonotonic; do systemctl show -p "$p" --value openclaw-forget-user-data.service; done; journalctl -b -u openclaw-forget-user-data.service --no-pager -o cat | grep "forget-user-data:" | tail -n 1', { sudo: true })
  const [result, status, exitedAt, ...said] = forget.stdout.trim().split('\n')
  if (!exitedAt || exitedAt === '0') problems.push('openclaw-forget-user-data.service did not run in this boot')
  else if (result !== 'success' || status !== '0') problems.push(`openclaw-forget-user-data.service: result ${result || '?'}, exit ${status || '?'}`)
  else if (!said.length) problems.push('openclaw-forget-user-data.service ran but did not say what it removed')
  else facts.push(`openclaw-forget-user-data.service ran (${said.join(' ')})`)
  const elsewhere = found.filter(f => f !== env && !MODEL_CACHE.test(f))
  if (!found.includes(env)) problems.push(`${env} holds none of the client's secrets`)
  if (elsewhere.length) problems.push(`a client secret is also in: ${elsewhere.join(', ')}`)
  else facts.push(`${secrets.length} secrets in ${env}${caches.length ? ' and the model cache' : ''} only (searched ${SEARCHED.join(' ')}, docker inspect, the journal, the container logs)`)
  return problems.length ? fail(problems.join('; ')) : pass(facts.join('; '))
}

/** This VM's machine-id and SSH host key fingerprints. */
export async function machineIdentity(ssh: Ssh): Promise<MachineIdentity> {
  const r = await ssh.exec('cat /etc/machine-id; for k in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$k"; done', { sudo: true })
  const lines = r.stdout.trim().split('\n')
  return { machineId: (lines[0] ?? '').trim(), hostKeys: lines.slice(1).map(l => l.split(/\s+/)[1] ?? '').filter(Boolean).sort() }
}

export function freshIdentity(fresh: MachineIdentity, build: MachineIdentity | null, seenHostKeys: string[]): Verdict {
  const problems: string[] = []
  if (!/^[0-9a-f]{32}$/.test(fresh.machineId)) problems.push(`machine-id is ${JSON.stringify(fresh.machineId)}, not a generated id`)
  if (!fresh.hostKeys.length) problems.push('no SSH host keys')
  if (seenHostKeys.length && !seenHostKeys.some(k => fresh.hostKeys.includes(k))) problems.push(`the host key SSH saw (${seenHostKeys.join(', ')}) is not one of the VM's`)
  if (build) {
    if (build.machineId === fresh.machineId) problems.push(`machine-id ${fresh.machineId} is the build VM's`)
    const shared = fresh.hostKeys.filter(k => build.hostKeys.includes(k))
    if (shared.length) problems.push(`SSH host key(s) ${shared.join(', ')} are the build VM's`)
  }
  if (problems.length) return fail(problems.join('; '))
  return pass(build
    ? `machine-id ${fresh.machineId.slice(0, 8)}... and ${fresh.hostKeys.length} SSH host keys are new (the build VM had ${build.machineId.slice(0, 8)}..., ${build.hostKeys.join(', ')})`
    : `machine-id ${fresh.machineId.slice(0, 8)}... and ${fresh.hostKeys.length} SSH host keys generated at boot; no build VM identity recorded to compare with`)
}

/** Nothing of the build: its user, the gates' files and state, the rehearsal's CA and name mapping, shell history, its cloud-init instance. */
export async function noBuildLeftovers(ssh: Ssh, instanceId: string): Promise<Verdict> {
  const probes: [string, string][] = [
    [`build user ${BUILD_USER}`, `getent passwd ${BUILD_USER}`],
    [`/home/${BUILD_USER}`, `ls -d /home/${BUILD_USER}`],
    [`sudoers rule for ${BUILD_USER}`, `grep -rl ${BUILD_USER} /etc/sudoers /etc/sudoers.d`],
    ['gate state /var/lib/clawbake', 'ls -d /var/lib/clawbake'],
    ['build staging /tmp/clawbake', 'ls -d /tmp/clawbake'],
    ['gate proof files in the sandbox', `find ${SANDBOX_HOME} -maxdepth 1 \\( -name 'owner-exec-*' -o -name 'stranger-*' -o -name 'untrusted-*' \\)`],
    ['registry CA (certs.d)', 'ls /etc/docker/certs.d'],
    ['a rehearsal CA in the trust store', 'ls /usr/local/share/ca-certificates | grep -i clawbake'],
    ['ghcr.io name mapping in /etc/hosts', 'grep -n ghcr.io /etc/hosts'],
    ['shell history', "find / -xdev \\( -name .bash_history -o -name .zsh_history -o -name .python_history -o -name .lesshst -o -name .viminfo \\) -size +0 2>/dev/null"],
    ['another cloud-init instance', `ls /var/lib/cloud/instances | grep -vx ${instanceId}`],
  ]
  const script = probes.map(([, cmd], i) => `echo "@@${i}"; ${cmd} 2>/dev/null`).join('; ')
  const r = await ssh.exec(script, { sudo: true, timeoutMs: 300_000 })
  const found: string[] = []
  const parts = r.stdout.split(/^@@(\d+)\n/m)
  for (let i = 1; i < parts.length; i += 2) {
    const what = probes[Number(parts[i])]?.[0] ?? '?'
    const out = (parts[i + 1] ?? '').trim()
    if (out) found.push(`${what}: ${out.split('\n').slice(0, 3).join(', ')}`)
  }
  if (found.length) return fail(`left over from the build: ${found.join('; ')}`)
  return pass(`none of: ${probes.map(([w]) => w).join(', ')}`)
}
