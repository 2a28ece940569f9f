// Running the real Packer: `packer validate` and `packer build -machine-readable`,
// with the machine-readable stream parsed into readable progress. Every line
// is masked before it reaches the screen or the run log (Packer 1.6.6 prints
// sensitive variables in clear). Secrets reach Packer only as PKR_VAR_*
// environment variables, never on its command line.
import { ClawbakeError } from '../errors.ts'
import type { Masker } from './mask.ts'
import { describePackerEvent, parsePackerLine, type PackerEvent } from './machine-readable.ts'
import { run, runOk } from '../proc/run.ts'


export type Builder = 'qemu' | 'amazon-ebs' | 'null'
export const BUILDERS: readonly Builder[] = ['qemu', 'amazon-ebs', 'null']

/** The Packer source each builder selects (`-only`): type.name in packer/clawbake.pkr.hcl. */
export function packerSource(builder: Builder): string {
  return builder === 'null' ? 'null.rehearsal' : `${builder}.ubuntu`
}


/**
 * The environment Packer runs with: no update check (CHECKPOINT_DISABLE, no
 * call home), and never Packer's own debug log (PACKER_LOG/PACKER_LOG_PATH),
 * which would write every variable, unmasked, past clawbake's masking.
 */
export function packerEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== 'PACKER_LOG' && k !== 'PACKER_LOG_PATH') out[k] = v
  out.CHECKPOINT_DISABLE = '1'
  return out
}

export interface PackerInfo {
  bin: string
  version: string
  /** Packer >= 1.7 understands error-cleanup-provisioner and cd_content; 1.6.6 does not */
  modern: boolean
}

export async function packerInfo(bin: string, env: Record<string, string | undefined>): Promise<PackerInfo> {
  const { stdout } = await runOk(bin, ['version'], { env: packerEnv(env), rule: 'bake.packer-version' })
  const m = /Packer v?(\d+)\.(\d+)\.(\d+)/.exec(stdout)
  if (!m) throw new ClawbakeError(`cannot read the Packer version from "${stdout.trim()}"`, { file: bin, rule: 'bake.packer-version' }, 2)
  const [maj, min] = [Number(m[1]), Number(m[2])]
  return { bin, version: `${m[1]}.${m[2]}.${m[3]}`, modern: maj > 1 || min >= 7 }
}

export interface PackerRun {
  bin: string
  /** the packer/ directory (Packer resolves path.root from it) */
  dir: string
  env: Record<string, string | undefined>
  masker: Masker
  /** a readable, masked progress line */
  progress?: (line: string) => void
  /** every raw output line, masked (the run log) */
  log?: (line: string) => void
  /** abort the build: Packer gets SIGINT (it stops the VM and cleans up) */
  signal?: AbortSignal
}

export interface PackerResult {
  code: number
  events: PackerEvent[]
  /** error texts Packer reported (masked) */
  errors: string[]
  /** masked text output (validate) */
  output: string
}

async function spawnPacker(args: string[], r: PackerRun, machineReadable: boolean): Promise<PackerResult> {
  const events: PackerEvent[] = []
  const errors: string[] = []
  let output = ''
  const onOut = (line: string) => {
    r.log?.(line)
    output += line + '\n'
    if (!machineReadable) return
    const e = parsePackerLine(line)
    if (!e) {
      if (line.trim()) r.progress?.(line)
      return
    }
    events.push(e)
    if (e.type === 'error' && e.target) errors.push(e.data.join(','))
    if (e.type === 'ui' && e.data[0] === 'error') errors.push(e.data.slice(1).join(',').trim())
    const text = describePackerEvent(e)
    if (text) for (const l of text.split('\n')) if (l.trim()) r.progress?.(l)
  }
  const onErr = (line: string) => {
    r.log?.(line)
    output += line + '\n'
    if (line.trim()) r.progress?.(line)
  }
  const res = await run(r.bin, args, {
    cwd: r.dir,
    env: packerEnv(r.env),
    masker: r.masker,
    onLine: (line, stream) => (stream === 'stdout' ? onOut : onErr)(line),
    // Ctrl-C: Packer stops its VM and removes what it made; whatever is left of its process group after 60 s is killed
    ...(r.signal ? { signal: r.signal, abortWith: 'SIGINT' as const, abortGraceMs: 60_000 } : {}),
  })
  return { code: res.code ?? 1, events, errors, output }
}

export function varArgs(varFile: string, builder: Builder): string[] {
  return [`-only=${packerSource(builder)}`, `-var-file=${varFile}`]
}

/** `packer validate`: the template parses, every variable validates, every file it names exists. */
export async function packerValidate(r: PackerRun, varFile: string, builder: Builder): Promise<PackerResult> {
  return spawnPacker(['validate', ...varArgs(varFile, builder), '.'], r, false)
}

/** `packer build -machine-readable`, streamed as readable progress. */
export async function packerBuild(r: PackerRun, varFile: string, builder: Builder, opts: { force?: boolean } = {}): Promise<PackerResult> {
  const args = ['build', '-machine-readable', '-on-error=cleanup', ...(opts.force ? ['-force'] : []), ...varArgs(varFile, builder), '.']
  return spawnPacker(args, r, true)
}
