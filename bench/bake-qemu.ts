// Wall time of the real qemu bake, offline (`clawbake bake --rehearsal`), split
// by stage: the Debian 13 base (cold, warm, cached), the OpenClaw image, boot
// to SSH, provisioning, the image pull, each gate inside the VM, the scrub,
// capture and compression, the disk inspection, the boot test of the captured
// image (boot to SSH, gateway ready, each check, per boot); and the
// accelerator used.
// Runs the real CLI in a temp copy of the tree and reads its progress lines
// (each carries the bake's elapsed time). Prints figures; asserts nothing.
// BENCH_TAG: the release (default 2026.7.35, the extended-stable release that
// starts under TCG). BENCH_BASE_COLD=0 skips the cold/warm base builds (about
// 3 minutes). BENCH_FROM=<stderr file> [BENCH_FROM_JSON=<stdout file>] reads
// the lines of a bake that already ran instead of running one.
import { readFileSync } from 'node:fs'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { run } from '../src/proc/run.ts'
import { buildDebianBase, debianBasePaths } from '../src/vm/debian-base.ts'

const REPO = fileURLToPath(new URL('..', import.meta.url))
const s = (ms: number) => `${(ms / 1000).toFixed(1).padStart(7)} s`

const TAG = process.env.BENCH_TAG ?? '2026.7.35'
const FROM = process.env.BENCH_FROM

if (process.env.BENCH_BASE_COLD !== '0' && !FROM) {
  const dir = mkdtempSync(join(tmpdir(), 'clawbake-bench-base-'))
  try {
    const cold = await buildDebianBase({ cacheDir: dir })
    const p = debianBasePaths(dir)
    for (const f of [p.qcow2, p.sha256File, p.kernel, p.initrd]) rmSync(f, { force: true })
    const warm = await buildDebianBase({ cacheDir: dir })
    const hit = await buildDebianBase({ cacheDir: dir })
    console.log(`Debian 13 base (mmdebstrap): cold ${s(cold.ms)}, warm (package cache kept) ${s(warm.ms)}, cache hit ${hit.ms} ms`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const root = mkdtempSync(join(tmpdir(), 'clawbake-bench-qemu-'))
try {
  // the tracked files: the tree a fresh clone has
  for (const f of (await run('git', ['-C', REPO, 'ls-files', '-z'])).stdout.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(root, f)), { recursive: true })
    copyFileSync(join(REPO, f), join(root, f))
  }
  const lines: { at: number; text: string }[] = []
  const t0 = Date.now()
  const r = FROM
    ? { code: 'from a log', stdout: process.env.BENCH_FROM_JSON ? readFileSync(process.env.BENCH_FROM_JSON, 'utf8') : '{}' }
    : await run(process.execPath, [join(REPO, 'bin', 'clawbake.js'), 'bake', '--tag', TAG, '--rehearsal', '--released-at', new Date().toISOString(), '--json'], {
      cwd: root,
      env: { ...process.env, CLAWBAKE_ROOT: root },
      onLine: (text, stream) => { if (stream === 'stderr') lines.push({ at: Date.now() - t0, text }) },
    })
  if (FROM) for (const text of readFileSync(FROM, 'utf8').split('\n')) lines.push({ at: 0, text })
  const wall = Date.now() - t0
  const out = JSON.parse(r.stdout || '{}') as { ok?: boolean; stages?: { stage: string; ms: number; detail: string }[]; rehearsal?: { stages: { stage: string; ms: number }[] }; error?: { message: string } }
  const elapsed = (re: RegExp, from = 0): number | null => {
    const l = lines.slice(from).find(x => re.test(x.text))
    if (!l) return null
    const m = /^\[\s*([\d.]+)s\]/.exec(l.text)
    return m ? Number(m[1]) * 1000 : null
  }
  const span = (a: RegExp, b: RegExp) => {
    const x = elapsed(a)
    const y = elapsed(b)
    return x !== null && y !== null ? s(y - x) : '      -'
  }
  console.log(`qemu rehearsal bake of ${TAG}: exit ${r.code}${FROM ? '' : `, ${s(wall)} wall`}`)
  const prepare = out.stages?.find(x => x.stage === 'prepare')
  console.log(`  accelerator      ${/accelerator (\w+ \([^)]*\))/.exec(prepare?.detail ?? '')?.[1] ?? 'unknown'}`)
  for (const st of out.rehearsal?.stages ?? []) console.log(`  rehearsal ${st.stage.padEnd(6)} ${s(st.ms)}`)
  for (const st of out.stages ?? []) if (st.stage !== 'build') console.log(`  ${st.stage.padEnd(16)} ${s(st.ms)}`)
  console.log(`  boot to SSH      ${span(/Starting VM, booting disk image/, /Connected to SSH!/)}`)
  console.log(`  provisioning     ${span(/Connected to SSH!/, /Provisioning with shell script: \.\/scripts\/gates\.sh/)} (uploads, docker, harden, files, image, service)`)
  console.log(`  image pull       ${span(/scripts\/image\.sh/, /scripts\/service\.sh/)}`)
  console.log(`  gate suite       ${span(/scripts\/gates\.sh/, /scripts\/verdict\.sh/)}`)
  for (const l of lines) {
    const m = /gates: (ok  |FAIL) (\S+) \(([\d.]+) s\)/.exec(l.text)
    if (m) console.log(`    ${m[2]!.padEnd(16)} ${(Number(m[3])).toFixed(1).padStart(7)} s${m[1] === 'FAIL' ? ' FAILED' : ''}`)
    const g = /gates: gateway ready after ([\d.]+) s/.exec(l.text)
    if (g) console.log(`    ${'gateway ready'.padEnd(16)} ${Number(g[1]).toFixed(1).padStart(7)} s`)
  }
  console.log(`  scrub            ${span(/scripts\/scrub\.sh/, /Gracefully halting virtual machine/)}`)
  console.log(`  capture+compress ${span(/Gracefully halting virtual machine/, /Build 'qemu\.ubuntu' finished/)} (shutdown, fstrim, qcow2 compression)`)
  for (const l of lines) {
    const z = /inspect +free space zeroed: (.*)/.exec(l.text)
    if (z) console.log(`  free space zeroed: ${z[1]}`)
  }
  // the boot test: the captured image booted as a client's VM (twice: two clients)
  for (const l of lines) {
    const b = /boot-test +\| boot (\d): SSH as \S+ after ([\d.]+) s/.exec(l.text)
    if (b) console.log(`  boot test, boot ${b[1]}: boot to SSH ${Number(b[2]).toFixed(1).padStart(7)} s`)
    const g = /boot-test +\| boot (\d): gateway ready ([\d.]+) s after SSH/.exec(l.text)
    if (g) console.log(`  boot test, boot ${g[1]}: gateway ready ${Number(g[2]).toFixed(1).padStart(7)} s after SSH`)
    const m = /boot-test +\| (ok  |FAIL) (\S+) \(([\d.]+) s\)/.exec(l.text)
    if (m) console.log(`    ${m[2]!.padEnd(18)} ${(Number(m[3])).toFixed(1).padStart(7)} s${m[1] === 'FAIL' ? ' FAILED' : ''}`)
  }
  if (!out.ok) console.log(`  failed: ${out.error?.message?.slice(0, 400)}`)
} finally {
  rmSync(root, { recursive: true, force: true })
}
