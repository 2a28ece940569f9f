// egress on a client's VM (the boot test): the gate of src/gates/egress.ts
// over SSH. The forbidden host is a stand-in on this machine, reached by the
// VM at an address of its own (qemu guestfwd, FORBIDDEN_ADDR:80) and, as
// another port of an allowed address, at 10.0.2.2:<its port>.
import type { ForbiddenStandin, Shell } from '../gates/egress.ts'
import { listenCounting } from '../gates/egress.ts'
import type { Ssh } from './ssh.ts'
import { QEMU_HOST_ADDR } from './vm.ts'

/** The forbidden stand-in as the VM sees it (a guestfwd address of its own). */
export const FORBIDDEN_ADDR = '10.0.2.101'

export interface HostForbiddenStandin extends ForbiddenStandin {
  /** its port on this machine's 127.0.0.1 (qemu's guestfwd target) */
  port: number
}

/** The forbidden stand-in on this machine's 127.0.0.1; the VM reaches it as FORBIDDEN_ADDR:80 and 10.0.2.2:<port>. */
export async function startForbiddenStandin(): Promise<HostForbiddenStandin> {
  const l = await listenCounting([{ host: '127.0.0.1', port: 0 }])
  const port = l.ports[0] as number
  return {
    port,
    targets: [
      { host: FORBIDDEN_ADDR, port: 80, what: 'a host of its own, by raw IP' },
      { host: QEMU_HOST_ADDR, port, what: 'another port of an allowed address' },
    ],
    connections: l.connections,
    close: l.close,
  }
}

/** A root shell on the client's VM over SSH. */
export function sshShell(ssh: Ssh): Shell {
  return {
    async sh(command, timeoutMs = 120_000) {
      const r = await ssh.exec(command, { sudo: true, timeoutMs })
      return { out: r.stdout + r.stderr, code: r.code }
    },
  }
}
