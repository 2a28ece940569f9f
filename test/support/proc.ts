// Start a real program (registry, sshd, OpenClaw gateway, ...) for a test and
// guarantee it is stopped: the whole process group is killed on teardown.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'

export interface Started {
  child: ChildProcess
  /** everything it printed so far (stdout + stderr) */
  output(): string
  stop(): Promise<void>
}

export function start(cmd: string, args: string[], opts: SpawnOptions = {}): Started {
  const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout?.on('data', d => { out += String(d) })
  child.stderr?.on('data', d => { out += String(d) })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      try { process.kill(-child.pid!, 'SIGTERM') } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL') } catch { /* gone */ } }, 5000)
      await exited
      clearTimeout(t)
    },
  }
}
