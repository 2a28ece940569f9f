// A client's state across images, in the boot test: the first client's VM
// keeps its agent on its own disk (state-disk), and a new root of the image,
// booted with that disk as the same client, brings the agent back (upgrade).
// Each reads the VM over SSH and returns a Verdict naming what it saw.
import { fail, pass, type Verdict } from '../gates/gate.ts'
import { OPENCLAW_ROOT, SANDBOX_HOME } from '../gates/host-compose.ts'
import { ownerExec } from '../gates/owner-exec.ts'
import { sleep } from '../gates/conversation.ts'
import type { OpenclawHost } from '../gates/host.ts'
import type { AvotsProxy } from '../gates/avots-proxy.ts'
import type { TelegramStandin } from '../standins/telegram.ts'
import { shellQuote, type Ssh } from './ssh.ts'
import type { ClientVm } from './vm.ts'

/** Where first boot mounts the state disk (packer/files/first-boot.sh). */
export const STATE_MOUNT = '/var/lib/openclaw-state'
const STATE = `${OPENCLAW_ROOT}/state`
/** The units that must never start without the state mounted (first-boot.sh's clawbake-state.conf drop-ins). */
const NEEDS_STATE = ['docker.service', 'openclaw.service', 'openclaw-sandbox.socket']

/** Lines `key=value` printed by a probe script, as a record. */
function fields(stdout: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim()
  }
  return out
}

/** state-disk: OpenClaw's state and the sandbox home are on the client's labelled disk, recorded for this owner and release, mounted at every boot. */
export async function stateOnDisk(ssh: Ssh, ownerId: number, release: string | null): Promise<Verdict> {
  const r = await ssh.exec([
    `echo "state=$(findmnt -n -o SOURCE --target ${STATE})"`,
    `echo "sandbox=$(findmnt -n -o SOURCE --target ${SANDBOX_HOME})"`,
    `echo "disk=$(findmnt -n -o SOURCE --target ${STATE_MOUNT})"`,
    `echo "label=$(blkid -o value -s LABEL "$(findmnt -n -o SOURCE --target ${STATE_MOUNT})")"`,
    `echo "owner=$(sed -n 's/.*"owner": *"\\([0-9]*\\)".*/\\1/p' ${STATE_MOUNT}/clawbake-state.json)"`,
    `echo "openclaw=$(sed -n 's/.*"openclaw": *"\\([^"]*\\)".*/\\1/p' ${STATE_MOUNT}/clawbake-state.json)"`,
    `echo "fstab=$(grep -c '# clawbake-state$' /etc/fstab)"`,
    `echo "env=$(test -f ${STATE_MOUNT}/openclaw/.env && echo yes)"`,
    ...NEEDS_STATE.map(u => `echo "requires:${u}=$(systemctl show -p RequiresMountsFor --value ${u})"`),
  ].join('; '), { sudo: true })
  const f = fields(r.stdout)
  const problems: string[] = []
  const disk = f.disk ?? ''
  if (!disk.startsWith('/dev/') || f.label !== 'openclaw-state') problems.push(`${STATE_MOUNT} is ${disk ? `${disk} labelled ${f.label || 'nothing'}` : 'not a mount'}, not the client's disk labelled openclaw-state`)
  if (!disk || !f.state?.startsWith(`${disk}[`)) problems.push(`${STATE} is ${f.state || 'not mounted'}, not bound from ${disk || 'the state disk'}`)
  if (!disk || !f.sandbox?.startsWith(`${disk}[`)) problems.push(`${SANDBOX_HOME} is ${f.sandbox || 'not mounted'}, not bound from ${disk || 'the state disk'}`)
  if (f.env !== 'yes') problems.push(`no .env on the state disk (${STATE_MOUNT}/openclaw/.env)`)
  if (f.owner !== String(ownerId)) problems.push(`clawbake-state.json names owner ${f.owner || 'none'}, not ${ownerId}`)
  if (release && f.openclaw !== release) problems.push(`clawbake-state.json names OpenClaw ${f.openclaw || 'none'}, not ${release}`)
  if (f.fstab !== '3') problems.push(`/etc/fstab has ${f.fstab || 0} clawbake-state line(s), not 3 (the disk and its two binds, mounted at every boot)`)
  const loose = NEEDS_STATE.filter(u => !(f[`requires:${u}`] ?? '').split(/\s+/).includes(STATE))
  if (loose.length) problems.push(`${loose.join(', ')} do(es) not require the state mount (RequiresMountsFor): at a later boot ${loose.length > 1 ? 'they' : 'it'} could start on the root disk's empty state/`)
  if (problems.length) return fail(problems.join('; '))
  return pass(`${STATE} is ${f.state} and ${SANDBOX_HOME} is ${f.sandbox} (ext4 labelled openclaw-state at ${STATE_MOUNT}); recorded for owner ${f.owner}, OpenClaw ${f.openclaw}; in /etc/fstab for every boot, required by ${NEEDS_STATE.join(', ')}`)
}

/** The lines of state/.env an upgrade keeps as they are (first-boot.sh). */
const KEPT_SECRETS = ['AVOTS_API_KEY', 'TELEGRAM_BOT_TOKEN', 'OPENCLAW_GATEWAY_TOKEN', 'OWNER_TELEGRAM_ID']

/** What the client's state holds: its files (volatile ones aside) and the hash of its secrets. */
export interface StateEvidence {
  files: string[]
  envSha256: string
}

/**
 * Files a running OpenClaw or SQLite may remove on its own (locks, pids, sockets, write-ahead logs, temp
 * files), and OpenClaw's provider cache, which first boot makes anew on an adopted state (first-boot.sh).
 */
const VOLATILE = /(^|\/)(\.compile-cache|tmp)\/|\.(lock|pid|sock|tmp)$|-(wal|shm|journal)$|(^|\/)agent\/models\.json$/

export async function stateEvidence(ssh: Ssh): Promise<StateEvidence> {
  // the secrets only: the endpoints in .env are the user-data's of each boot
  const r = await ssh.exec(`cd ${STATE} && find . -type f -printf '%P\\n' | sort && echo "@@env=$(grep -E '^(${KEPT_SECRETS.join('|')})=' .env | sort | sha256sum | cut -d' ' -f1)"`, { sudo: true, timeoutMs: 120_000 })
  const lines = r.stdout.trim().split('\n')
  const env = lines.find(l => l.startsWith('@@env='))?.slice(6) ?? ''
  return { files: lines.filter(l => l && !l.startsWith('@@') && !VOLATILE.test(l)), envSha256: env }
}

/** Power the VM off from inside (what an operator does before moving a disk), and wait for qemu to exit. */
export async function poweroffVm(vm: ClientVm, ssh: Ssh, timeoutMs: number, log: (l: string) => void): Promise<void> {
  log(`powering the VM off (up to ${Math.round(timeoutMs / 1000)} s)`)
  await ssh.exec('systemctl poweroff', { sudo: true, timeoutMs: 30_000 }).catch(() => null)
  const until = Date.now() + timeoutMs
  while (vm.running()) {
    if (Date.now() > until) throw new Error(`the VM did not power off within ${Math.round(timeoutMs / 1000)} s; serial console (${vm.serialLog}): ${vm.serialTail(8)}`)
    await sleep(2000)
  }
}

/** Up to three files under `where` that hold `value` (a turn's random value: the sessions that recorded it). */
async function filesHolding(ssh: Ssh, value: string, where: string): Promise<string[]> {
  return (await ssh.exec(`grep -rlsF ${shellQuote(value)} ${where} | head -n 3`, { sudo: true })).stdout.trim().split('\n').filter(Boolean)
}

/** The client's VM after a move of its disk, and the owner's next turn on it. */
interface MovedClient {
  ssh: Ssh
  host: OpenclawHost
  tg: TelegramStandin
  proxy: AvotsProxy
  ownerId: number
  nonce: string
  turnMs: number
}

/** What this boot's first boot said of the state disk it found (adopted: whose, from which release), and what is under `dir` of the disk. */
async function firstBootTook(ssh: Ssh, dir: 'pre-upgrade' | 'rolled-back'): Promise<{ adopted: { owner: string; release: string } | null; said: string; listing: string }> {
  const r = await ssh.exec(`grep -hE 'state-disk:|first-boot:' /var/log/cloud-init-output.log | tail -n 8; echo "@@ls=$(ls ${STATE_MOUNT}/${dir} 2>/dev/null | tr '\\n' ' ')"`, { sudo: true })
  const m = /state-disk: owner (\d+)'s state from OpenClaw (\S+) adopted/.exec(r.stdout)
  return {
    adopted: m ? { owner: m[1] as string, release: m[2] as string } : null,
    said: r.stdout.replace(/@@ls=.*/, '').trim().split('\n').slice(-3).join(' | ') || 'nothing',
    listing: /@@ls=(.*)/.exec(r.stdout)?.[1]?.trim() ?? '',
  }
}

/**
 * upgrade: a new root of the image, booted with the first client's state disk,
 * as the same client. First boot adopted the state (a copy saved first), every
 * file of the state is still there with the same secrets, the earlier proof
 * file and session are kept, and the owner is answered with a tool run in the sandbox.
 */
export async function upgradeVerdict(opts: MovedClient & {
  before: StateEvidence
  /** the proof file the owner's turn made before the upgrade, and its value */
  proof: { path: string; value: string }
}): Promise<Verdict> {
  const { ssh } = opts
  const problems: string[] = []
  const facts: string[] = []
  const took = await firstBootTook(ssh, 'pre-upgrade')
  const copies = took.listing
  if (took.adopted?.owner !== String(opts.ownerId)) problems.push(`first boot did not say it adopted owner ${opts.ownerId}'s state (it said: ${took.said})`)
  else facts.push(`first boot adopted owner ${took.adopted.owner}'s state from OpenClaw ${took.adopted.release}`)
  if (!copies) problems.push(`no copy saved before the adoption (${STATE_MOUNT}/pre-upgrade is empty)`)
  else facts.push(`the state from before is saved (pre-upgrade/${copies.split(' ')[0]})`)

  // the owner's turn first: the state is compared as the running agent keeps it
  const turn = await ownerExec({ host: opts.host, tg: opts.tg, proxy: opts.proxy, ownerId: opts.ownerId, nonce: opts.nonce, timeoutMs: opts.turnMs, freshSession: false })
  if (!turn.ok) problems.push(`the owner after the upgrade: ${turn.detail}`)
  else facts.push(`the owner is answered after the upgrade: ${turn.detail}`)

  const after = await stateEvidence(ssh)
  const lost = opts.before.files.filter(f => !after.files.includes(f))
  if (lost.length) problems.push(`${lost.length} of the state's ${opts.before.files.length} file(s) are gone: ${lost.slice(0, 8).join(', ')}`)
  else facts.push(`all ${opts.before.files.length} files of the state kept`)
  if (!after.envSha256 || after.envSha256 !== opts.before.envSha256) problems.push(`the client's secrets in state/.env (${KEPT_SECRETS.join(', ')}) are not the ones it had`)
  else facts.push(`the same secrets and gateway token (${KEPT_SECRETS.join(', ')} in state/.env unchanged)`)

  const file = await opts.host.readSandboxFile(opts.proof.path)
  if (file?.content.trim() !== opts.proof.value) problems.push(`the earlier proof file ${opts.proof.path} ${file ? `holds ${JSON.stringify(file.content.trim().slice(0, 40))}` : 'is gone'}, not ${opts.proof.value}`)
  else facts.push(`the earlier proof file ${opts.proof.path} is still there (uid ${file.uid})`)
  const sessionFiles = await filesHolding(ssh, opts.proof.value, `${STATE}/agents`)
  if (!sessionFiles.length) problems.push(`no session of the state holds the earlier turn's value ${opts.proof.value}`)
  else facts.push(`the earlier session is kept (${sessionFiles.map(f => f.replace(`${STATE}/`, '')).join(', ')})`)

  return problems.length ? fail(`${problems.join('; ')}${facts.length ? ` (${facts.join('; ')})` : ''}`) : pass(facts.join('; '))
}

/**
 * What docs/oncall.md tells an operator to do on the upgraded VM to go back: the stack stopped, the saved
 * pre-upgrade copy put back (`state-disk.sh rollback`), the VM powered off. Returns what the script said.
 */
export async function rollBack(vm: ClientVm, ssh: Ssh, timeoutMs: number, log: (l: string) => void): Promise<string> {
  log('rolling the state back (stack stopped, state-disk.sh rollback) and powering off')
  const r = await ssh.exec(`systemctl stop openclaw.service openclaw-sandbox.socket && ${OPENCLAW_ROOT}/state-disk.sh rollback ${STATE_MOUNT}`, { sudo: true, timeoutMs: 300_000 })
  const said = `${r.stdout}\n${r.stderr}`.split('\n').map(l => l.trim()).filter(l => l.startsWith('state-disk:')).pop()
  if (r.code !== 0 || !said) throw new Error(`exit ${r.code}: ${`${r.stderr}\n${r.stdout}`.trim().split('\n').slice(-4).join(' | ') || 'no output'}`)
  await poweroffVm(vm, ssh, timeoutMs, log)
  return said
}

/**
 * rollback: the previous image, booted with the rolled-back state disk as the same client, runs the state
 * from before the upgrade: first boot took it (the release it was saved from), the state the upgrade made is
 * kept aside under rolled-back/, every file of the saved state is there, the earlier session and proof are
 * kept, the turn made after the upgrade is not in the running state, and the owner is answered again.
 */
export async function rollbackVerdict(opts: MovedClient & {
  /** the release whose state was saved before the upgrade (the previous image's) */
  release: string | null
  /** the state as it was before the upgrade */
  restored: StateEvidence
  /** the proof of the owner's turn before the upgrade */
  proof: { path: string; value: string }
  /** the value of the owner's turn after the upgrade: in rolled-back/, not in the running state */
  discarded: string
}): Promise<Verdict> {
  const { ssh } = opts
  const problems: string[] = []
  const facts: string[] = []
  const took = await firstBootTook(ssh, 'rolled-back')
  if (took.adopted?.owner !== String(opts.ownerId)) problems.push(`first boot did not take owner ${opts.ownerId}'s rolled-back state (it said: ${took.said})`)
  else if (opts.release && took.adopted.release !== opts.release) problems.push(`first boot took state of OpenClaw ${took.adopted.release}, not the ${opts.release} saved before the upgrade`)
  else facts.push(`first boot took owner ${took.adopted.owner}'s state of OpenClaw ${took.adopted.release}, as saved before the upgrade`)
  const aside = took.listing
  if (!aside) problems.push(`nothing under ${STATE_MOUNT}/rolled-back: the state the upgrade made was not kept aside`)

  const turn = await ownerExec({ host: opts.host, tg: opts.tg, proxy: opts.proxy, ownerId: opts.ownerId, nonce: opts.nonce, timeoutMs: opts.turnMs, freshSession: false })
  if (!turn.ok) problems.push(`the owner after the rollback: ${turn.detail}`)
  else facts.push(`the owner is answered after the rollback: ${turn.detail}`)

  const after = await stateEvidence(ssh)
  const lost = opts.restored.files.filter(f => !after.files.includes(f))
  if (lost.length) problems.push(`${lost.length} of the saved state's ${opts.restored.files.length} file(s) are missing: ${lost.slice(0, 8).join(', ')}`)
  else facts.push(`all ${opts.restored.files.length} files of the saved state are back`)
  if (!after.envSha256 || after.envSha256 !== opts.restored.envSha256) problems.push(`the client's secrets in state/.env are not the ones it had`)

  if (!(await filesHolding(ssh, opts.proof.value, `${STATE}/agents`)).length) problems.push(`no session of the running state holds the turn from before the upgrade (${opts.proof.value})`)
  else facts.push('the session from before the upgrade is there')
  if (opts.discarded) {
    const running = await filesHolding(ssh, opts.discarded, `${STATE}/agents`)
    const keptAside = await filesHolding(ssh, opts.discarded, `${STATE_MOUNT}/rolled-back`)
    if (running.length) problems.push(`the turn made after the upgrade (${opts.discarded}) is still in the running state (${running.join(', ')}): the rollback did not put the saved copy back`)
    else if (!keptAside.length) problems.push(`the turn made after the upgrade (${opts.discarded}) is nowhere under rolled-back/`)
    else facts.push(`the turn made after the upgrade is only in rolled-back/${aside.split(' ')[0]} (${keptAside.length} file(s))`)
  } else problems.push('the owner\'s turn after the upgrade left no proof to look for')
  return problems.length ? fail(`${problems.join('; ')}${facts.length ? ` (${facts.join('; ')})` : ''}`) : pass(facts.join('; '))
}
