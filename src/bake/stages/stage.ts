// What every stage of the bake gets (the context) and how the list of stages
// runs. A stage is one file in this folder: a name (the word its progress line
// prints), a typed input (the outputs of earlier stages, by their names) and a
// typed output. `pipeline()` checks at compile time that every stage comes
// after the stages it reads; `runStages()` runs them in that order.
//
//   stage(): timed, prints `[elapsed] <name> <detail>`, its time goes into the
//            outcome's stages, a ClawbakeError it throws fails the bake with
//            what is known so far (BakeFailed, masked)
//   step():  a decision between stages, untimed and silent; it may end the
//            bake early (`finish(outcome)`: already published, dry run, done)
import type { Io } from '../../io.ts'
import type { ProjectPaths } from '../../paths.ts'
import type { Channel } from '../../releases/version.ts'
import type { Masker } from '../mask.ts'
import type { BakeDeps, BakeOutcome, BakeRequest } from './types.ts'

export interface BakeContext {
  req: BakeRequest
  io: Io
  deps: BakeDeps
  root: string
  paths: ProjectPaths
  /** when the bake started (bake_started_at, the time-to-patch end) */
  started: Date
  /** the release tag, normalised (no leading v) */
  tag: string
  channel: Channel
  /** repository the tag is resolved on (a mirror or loopback registry) */
  registryImage: string
  /** every line shown or logged goes through it */
  masker: Masker
  /** made for this bake: masked everywhere, searched for on the captured disk */
  secrets: { gatewayToken: string; botToken: string }
  /** what is known so far; a failed bake reports it (BakeFailed) */
  outcome: BakeOutcome
  /** a masked line on stderr and in the bake log */
  say(line: string): void
  /** `[elapsed] <name padded> <text>`, through say() */
  progress(name: string, text: string): void
  /** a line appended to the bake log only (already masked) */
  log(line: string): void
  /** the bake log from now on: the lines said so far, then every later one */
  openLog(file: string): void
  /** rethrow as BakeFailed (ClawbakeError: masked, with the outcome so far) */
  fail(e: unknown): never
}

export type StageResult<T> = { value: T; detail: string } | { value: T; skipped: true }

/** Ends the bake with this outcome; the stages after it do not run. */
export class Finished {
  readonly outcome: BakeOutcome
  constructor(outcome: BakeOutcome) {
    this.outcome = outcome
  }
}

export interface Stage<N extends string, In, Out> {
  kind: 'stage'
  name: N
  run(ctx: BakeContext, input: In): Promise<StageResult<Out>>
}

export interface Step<N extends string, In, Out> {
  kind: 'step'
  name: N
  run(ctx: BakeContext, input: In): Promise<Out | Finished>
}

type AnyStage = Stage<string, any, any> | Step<string, any, any>

export function stage<const N extends string, In, Out>(name: N, run: (ctx: BakeContext, input: In) => Promise<StageResult<Out>>): Stage<N, In, Out> {
  return { kind: 'stage', name, run }
}

export function step<const N extends string, In, Out>(name: N, run: (ctx: BakeContext, input: In) => Promise<Out | Finished>): Step<N, In, Out> {
  return { kind: 'step', name, run }
}

/** A stage that does not apply to this bake: no timing, no progress line. */
export function skipped<T>(value: T): StageResult<T> {
  return { value, skipped: true }
}

/** A step's way to end the bake. */
export function finish(outcome: BakeOutcome): Finished {
  return new Finished(outcome)
}

type NameOf<S> = S extends { name: infer N extends string } ? N : never
type InOf<S> = S extends { run(ctx: BakeContext, input: infer I): unknown } ? I : never
type OutOf<S> = S extends Stage<string, unknown, infer O> ? O : S extends Step<string, unknown, infer O> ? Exclude<O, Finished> : never

/** The list as given when every stage's input is made by stages before it; else a tuple naming the first stage that is not. */
export type Pipeline<L extends readonly unknown[], Have = unknown> = L extends readonly [infer S, ...infer Rest]
  ? Have extends InOf<S>
    ? readonly [S, ...Pipeline<Rest, Have & { [K in NameOf<S>]: OutOf<S> }>]
    : readonly [`stage "${NameOf<S>}" reads an output no stage before it makes`, ...Rest]
  : readonly []

/** The stages in data-flow order, checked: a stage listed before one whose output it reads is a type error. */
export function pipeline<const L extends readonly AnyStage[]>(list: L & Pipeline<L>): L {
  return list
}

/** Runs the stages in order, each with the outputs of those before it; the outcome of the step that finished the bake. */
export async function runStages(ctx: BakeContext, list: readonly AnyStage[]): Promise<BakeOutcome> {
  const values: Record<string, unknown> = {}
  for (const s of list) {
    if (s.kind === 'step') {
      const v: unknown = await s.run(ctx, values)
      if (v instanceof Finished) return v.outcome
      values[s.name] = v
      continue
    }
    values[s.name] = await timed(ctx, s, values).catch(ctx.fail)
  }
  throw new Error(`the bake's stages ended without an outcome (last: ${list.at(-1)?.name})`)
}

async function timed(ctx: BakeContext, s: Stage<string, unknown, unknown>, values: Record<string, unknown>): Promise<unknown> {
  const t = Date.now()
  const r = await s.run(ctx, values)
  if ('skipped' in r) return r.value
  ctx.outcome.stages.push({ stage: s.name, ms: Date.now() - t, detail: ctx.masker.mask(r.detail) })
  ctx.progress(s.name, r.detail)
  return r.value
}
