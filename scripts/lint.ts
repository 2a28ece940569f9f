// Lint what TypeScript does not: shell scripts (shellcheck), Packer HCL
// (`packer fmt -check`), and every JSON Schema compiles. Exit 1 on a finding.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { run, runOk } from '../src/proc/run.ts'
import { schemaAjv } from '../src/schema/validate.ts'

let failed = 0
const shown = { onLine: (line: string) => { process.stderr.write(line + '\n') } }
const files = (await runOk('git', ['ls-files', '--cached', '--others', '--exclude-standard'])).stdout
  .split('\n')
  .filter(Boolean)

const shells = files.filter(f => f.endsWith('.sh') || readFileSync(f, 'utf8').startsWith('#!/usr/bin/env bash') || readFileSync(f, 'utf8').startsWith('#!/bin/sh'))
  .filter(f => !f.startsWith('node_modules/'))
if ((await run('shellcheck', ['-x', ...shells], shown)).code === 0) process.stderr.write(`lint: shellcheck ok (${shells.length} scripts)\n`)
else failed++

if (files.some(f => f.endsWith('.pkr.hcl'))) {
  if ((await run('packer', ['fmt', '-check', '-diff', 'packer'], shown)).code === 0) process.stderr.write('lint: packer fmt ok\n')
  else failed++
}

for (const f of readdirSync('schemas').filter(f => f.endsWith('.json'))) {
  try {
    schemaAjv().compile(JSON.parse(readFileSync(join('schemas', f), 'utf8')))
  } catch (e) {
    process.stderr.write(`lint: schemas/${f}: ${(e as Error).message}\n`)
    failed++
  }
}
process.exit(failed ? 1 : 0)
