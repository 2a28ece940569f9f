// The one place where `--local` and the build VM differ: how OpenClaw is
// started and run, where its sandbox writes, and what it listens on. Every
// gate talks to OpenClaw only through this interface.

export interface CliRun {
  code: number
  stdout: string
  stderr: string
  ms: number
}

export interface Gateway {
  /** everything the gateway printed so far */
  output(): string
  /** true once the process exited (crashed or stopped) */
  exited(): boolean
  stop(): Promise<void>
  /** why a start failed: container status, exit code, restart count, logs (vm mode) */
  evidence?(): Promise<string>
  /** how often Docker's restart policy restarted it (vm mode) */
  restarts?(): Promise<number>
  /** why this start cannot succeed however long one waits (OpenClaw's lost lease start), or null (vm mode) */
  startStuck?(): Promise<string | null>
}

export interface Listener {
  proto: 'tcp' | 'tcp6' | 'udp' | 'udp6'
  address: string
  port: number
  pid: number
  command: string
}

export interface SandboxFile {
  uid: number
  content: string
}

export interface OpenclawHost {
  mode: 'local' | 'vm'
  /** the OpenClaw version actually run (`openclaw --version`, or the pinned tag) */
  version: string
  /** OpenClaw's state dir of this run (fresh every run) */
  stateDir: string
  /** the unprivileged account the sandbox runs tools as */
  sandboxUser: { name: string; uid: number }
  /** `openclaw <args>` with the gate environment */
  cli(args: string[], timeoutMs?: number): Promise<CliRun>
  /** `openclaw gateway run` with the laid-out config; resolves once started (not yet ready) */
  startGateway(): Promise<Gateway>
  /** the gateway's HTTP base (for /healthz), reachable from where the gates run */
  gatewayUrl: string
  /** an absolute path, inside the sandbox, that only the sandbox user can create */
  proofPath(name: string): string
  readSandboxFile(path: string): Promise<SandboxFile | null>
  /** sockets OpenClaw's processes listen on (or have bound, for UDP) */
  listeners(): Promise<Listener[]>
  /** files and directories no test secret may be left in, plus the captured process output */
  leftovers(): Promise<{ paths: string[]; outputs: { name: string; text: string }[] }>
  close(): Promise<void>
}
