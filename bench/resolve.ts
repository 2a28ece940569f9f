// `npm run bench -- resolve`: requests and wall time per `resolve` against the
// real registry (docker-registry 2.8, token auth) on loopback, next to
// `skopeo inspect --raw` on the same registry. Requests are counted by a
// pass-through proxy in front of the registry plus the token server's log,
// for both tools alike. Prints figures; asserts nothing.
import { runOk } from '../src/proc/run.ts'
import { buildImage, imageRoot, pushImage, startRegistry, REPOSITORY } from '../test/support/registry.ts'
import { startRegistryProxy } from '../test/standins/registry-liar.ts'
import { resolveImage } from '../src/registry/resolve.ts'
import { RegistrySession } from '../src/registry/session.ts'
import { TokenCache } from '../src/registry/auth.ts'
import { BIN } from '../test/support/cli.ts'

const N = Number(process.env.BENCH_RESOLVE_N ?? 10)
const teardowns: (() => void | Promise<void>)[] = []
const t = { teardown: (fn: () => void | Promise<void>) => { teardowns.push(fn) } }

interface Figure { name: string; requests: number; ms: number[] }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

try {
  const open = await startRegistry(t)
  const image = buildImage(imageRoot(t), { tag: '2026.9.6', kind: 'oci-index', attestation: true })
  await pushImage(image, open.host)
  const reg = await startRegistry(t, { auth: 'token', storage: open.storage })
  const proxy = await startRegistryProxy({ upstream: `http://${reg.host}` })
  t.teardown(proxy.stop)
  const ref = `${proxy.host}/${REPOSITORY}`
  const counted = () => proxy.log.length + reg.token!.log.length

  const measure = async (name: string, once: () => Promise<void>, before?: () => Promise<void>): Promise<Figure> => {
    const ms: number[] = []
    let requests = 0
    for (let i = 0; i < N; i++) {
      await before?.()
      const c0 = counted()
      const t0 = performance.now()
      await once()
      ms.push(performance.now() - t0)
      requests += counted() - c0
    }
    return { name, requests: requests / N, ms }
  }

  let session = new RegistrySession({ env: {}, tokens: new TokenCache() })
  const check = (digest: string) => { if (digest !== image.digest) throw new Error(`bench resolved ${digest}, expected ${image.digest}`) }
  const cold = await measure('clawbake resolveImage, cold (new token)', async () => {
    check((await resolveImage({ image: ref, tag: '2026.9.6' }, { env: {}, session })).digest)
  }, async () => { session = new RegistrySession({ env: {}, tokens: new TokenCache() }) })
  const warmSession = new RegistrySession({ env: {}, tokens: new TokenCache() })
  await resolveImage({ image: ref, tag: '2026.9.6' }, { env: {}, session: warmSession })
  const warm = await measure('clawbake resolveImage, warm (token reused)', async () => {
    check((await resolveImage({ image: ref, tag: '2026.9.6' }, { env: {}, session: warmSession })).digest)
  })
  const cli = await measure('clawbake resolve (CLI process, cold)', async () => {
    const { stdout } = await runOk(process.execPath, [BIN, 'resolve', '2026.9.6', '--image', ref, '--json'])
    check(JSON.parse(stdout).digest)
  })
  const skopeo = await measure('skopeo inspect --raw (process, cold)', async () => {
    await runOk('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}:2026.9.6`])
  })

  const rows = [cold, warm, cli, skopeo]
  process.stdout.write(`resolve of an OCI index (2 platforms + 2 attestations), docker-registry 2.8 with token auth on loopback, n=${N}\n`)
  process.stdout.write(`${'what'.padEnd(44)} ${'requests'.padStart(8)} ${'median ms'.padStart(10)} ${'min ms'.padStart(8)}\n`)
  for (const r of rows) {
    process.stdout.write(`${r.name.padEnd(44)} ${r.requests.toFixed(1).padStart(8)} ${median(r.ms).toFixed(1).padStart(10)} ${Math.min(...r.ms).toFixed(1).padStart(8)}\n`)
  }
  process.stdout.write(`targets: cold with token 3 requests (got ${cold.requests}), warm 2 (got ${warm.requests})\n`)
  process.stdout.write(`ratio skopeo/clawbake requests (cold): ${(skopeo.requests / cold.requests).toFixed(2)}\n`)
  process.stdout.write(`ratio skopeo/clawbake wall time: in-process cold ${(median(skopeo.ms) / median(cold.ms)).toFixed(1)}x, warm ${(median(skopeo.ms) / median(warm.ms)).toFixed(1)}x, CLI process vs process ${(median(skopeo.ms) / median(cli.ms)).toFixed(2)}x\n`)
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
