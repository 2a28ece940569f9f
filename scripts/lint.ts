// Lint what TypeScript does not: shell scripts (shellcheck), Packer HCL
// (`packer fmt -check`), and every JSON Schema compiles. Exit 1 on a finding.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { schemaAjv } from '../src/schema/validate.ts'

let failed = 0
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
  .split('\n')
  .filter(Boolean)

const shells = files.filter(f => f.endsWith('.sh') || readFileSync(f, 'utf8').startsWith('#!/usr/bin/env bash') || readFileSync(f, 'utf8').startsWith('#!/bin/sh'))
  .filter(f => !f.startsWith('node_modules/'))
try {
  execFileSync('shellcheck', ['-x', ...shells], { stdio: 'inherit' })
  process.stderr.write(`lint: shellcheck ok (${shells.length} scripts)\n`)
} catch {
  failed++
}

if (files.some(f => f.endsWith('.pkr.hcl'))) {
  try {
    execFileSync('packer', ['fmt', '-check', '-diff', 'packer'], { stdio: 'inherit' })
    process.stderr.write('lint: packer fmt ok\n')
  } catch {
    failed++
  }
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
