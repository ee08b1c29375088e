/**
 * Crash safety, proved by killing dv with SIGKILL (harness.ts, docs/reliability.md). At CI size
 * this tries a few hundred kill points; `npm run soak` runs thousands on a larger dataset.
 *
 *   DV_CRASH_BUDGET  kill points at crash points, over all scenarios (default 200)
 *   DV_CRASH_TIMED   kills after a random delay, per scenario (default: a twelfth of its share
 *                    of the budget, at least 2)
 *   DV_CRASH_FILES   small files in each dataset (default 80: enough to start the worker pools)
 *   DV_CRASH_JOBS    trials run at once (default: cores, at most 4)
 *   DV_CRASH_ONLY    comma-separated scenario names to run
 *   DV_CRASH_KEEP=1  keep the directory of a failing trial
 *   DV_CRASH_REPORT  write the per-scenario report as JSON to this file
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'

import {decodeTree, TREE_MARK} from '../../src/models/tree.js'
import {BIN, dv, git, makeRepo, tempDir, testEnv, writeFiles} from '../helpers.js'
import {pickIndexes, runScenario, scenarios, summaryLine, writeReport, type ScenarioReport} from './harness.js'

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name])
  return Number.isFinite(v) && v > 0 ? v : fallback
}

const BUDGET = num('DV_CRASH_BUDGET', 200)
const FILES = num('DV_CRASH_FILES', 80)
const ONLY = process.env.DV_CRASH_ONLY?.split(',').filter(Boolean)

const all = scenarios().filter((s) => !ONLY || ONLY.includes(s.name))
const perScenario = Math.max(2, Math.floor(BUDGET / all.length))
const TIMED = num('DV_CRASH_TIMED', Math.max(2, Math.round(perScenario / 12)))
const reports: ScenarioReport[] = []

afterAll(() => {
  if (reports.length === 0) return
  const points = reports.reduce((n, r) => n + r.atPoints + r.timed, 0)
  const failures = reports.reduce((n, r) => n + r.failures.length, 0)
  console.log(`crash total: ${points} kill points tried over ${reports.length} scenarios (${FILES} files each), ${failures} failures`)
  writeReport(process.env.DV_CRASH_REPORT, reports)
})

describe('crash points', () => {
  it('picks every index when the budget allows, else an even spread with the first and the last', () => {
    expect(pickIndexes(4, 10)).toEqual([1, 2, 3, 4])
    expect(pickIndexes(100, 5)).toEqual([1, 26, 51, 75, 100])
    expect(pickIndexes(100, 1)).toEqual([100])
  })

  it('DV_CRASH_AT=<name>:<n> kills at the n-th hit of that point; DV_CRASH_COUNT counts hits per name', () => {
    const repo = makeRepo()
    writeFiles(repo, {'data/a.txt': 'a\n', 'data/b.txt': 'b\n'})
    const count = join(tempDir(), 'count.json')
    const r = spawnSync(process.execPath, [BIN, 'add', 'data'], {cwd: repo, env: testEnv(repo, {DV_CRASH_AT: 'add.pointer-written:1'})})
    expect(r.signal).toBe('SIGKILL')
    // Killed between the pointer and the .gitignore line: the pointer is whole, the line not there yet.
    expect(readFileSync(join(repo, 'data.dv'), 'utf8')).toContain('nfiles: 2')
    expect(existsSync(join(repo, '.gitignore')) && readFileSync(join(repo, '.gitignore'), 'utf8').includes('/data')).toBe(false)
    // The killed process's repository lock is stale, and the next dv clears it by itself.
    expect(existsSync(join(repo, '.dv/lock'))).toBe(true)
    const again = spawnSync(process.execPath, [BIN, 'add', 'data'], {cwd: repo, env: testEnv(repo, {DV_CRASH_COUNT: count})})
    expect(again.status).toBe(0)
    expect(readFileSync(join(repo, '.gitignore'), 'utf8')).toContain('/data\n')
    expect(existsSync(join(repo, '.dv/lock'))).toBe(false)
    const hits = JSON.parse(readFileSync(count, 'utf8')) as Record<string, number>
    expect(hits['add.pointer-written']).toBe(1)
    expect(hits['repolock.taken']).toBe(1)
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  for (const s of all) {
    it(
      `${s.name}: killed at every chosen point, leaves old-or-new state, and a rerun finishes the job`,
      async () => {
        const report = await runScenario(s, {files: FILES, budget: perScenario, timed: TIMED, keep: process.env.DV_CRASH_KEEP === '1'})
        reports.push(report)
        console.log([summaryLine(report), ...report.failures.map((f) => `  FAILED ${f}`)].join('\n'))
        expect(report.failures).toEqual([])
        expect(report.atPoints).toBeGreaterThan(0)
      },
      Math.max(600_000, perScenario * 20_000),
    )
  }
})

/** Runs dv killed at one named crash point; asserts it died by SIGKILL. */
function killedAt(cwd: string, point: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd, env: testEnv(cwd, {DV_CRASH_AT: point})})
  expect(r.signal, `dv ${args.join(' ')} at ${point}: ${r.stderr}`).toBe('SIGKILL')
}

/** Temp files dv left anywhere in the work tree or in .dv (not the cache's own tmp/). */
function leftTemps(dir: string): string[] {
  return (readdirSync(dir, {recursive: true}) as string[]).filter((p) => !p.startsWith('.git/') && (p.endsWith('.dv-tmp') || /^\.dv\/lock\./.test(p)))
}

function treesMissingSubtrees(repo: string): string[] {
  const objects = join(repo, '.dv/cache/objects')
  const ids = new Set(readdirSync(objects).flatMap((fan) => readdirSync(join(objects, fan)).map((rest) => fan + rest)))
  const bad: string[] = []
  for (const id of ids) {
    const bytes = readFileSync(join(objects, id.slice(0, 2), id.slice(2)))
    if (!bytes.subarray(0, TREE_MARK.length).equals(Buffer.from(TREE_MARK))) continue
    for (const e of decodeTree(bytes, id)) if (!ids.has(e.oid)) bad.push(`${id} lacks ${e.name}`)
  }
  return bad
}

// One test per defect the harness found (docs/reliability.md), at the exact point it was found.
describe('crash regressions', () => {
  it('gc removes trees parents first: killed after each removal, no tree is ever left without its subtree', () => {
    const repo = makeRepo()
    const v1: Record<string, string> = {}
    for (let i = 0; i < 6; i++) v1[`data/p${i % 3}/q${i % 2}/f${i}.txt`] = `v1 ${i}\n`
    writeFiles(repo, v1)
    dv(repo, 'add', 'data').ok()
    git(repo, 'add', '-A')
    git(repo, 'commit', '-qm', 'v1')
    writeFiles(repo, Object.fromEntries(Object.keys(v1).map((p) => [p, `v2 ${p}\n`])))
    dv(repo, 'commit').ok()
    git(repo, 'add', '-A')
    git(repo, 'commit', '-qm', 'v2') // v1's data is kept by no pointer now, nor by git's index
    // One object removed per run, each run killed right after it, until gc has nothing left to do.
    for (let run = 0; ; run++) {
      const r = spawnSync(process.execPath, [BIN, 'gc', '-f'], {cwd: repo, env: testEnv(repo, {DV_CRASH_AT: 'gc.removed:1'})})
      expect(treesMissingSubtrees(repo), `after removal ${run + 1}`).toEqual([])
      if (r.signal !== 'SIGKILL') break
      expect(run).toBeLessThan(40)
    }
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('repro writes the .gitignore line and the run record before dv.lock: a kill right after dv.lock loses neither', () => {
    const repo = makeRepo()
    writeFiles(repo, {'in.txt': 'x\n', 'dv.yaml': 'stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n'})
    killedAt(repo, 'repro.lock-written:1', 'repro')
    expect(readFileSync(join(repo, 'dv.lock'), 'utf8')).toContain('out.txt')
    expect(readFileSync(join(repo, '.gitignore'), 'utf8')).toContain('/out.txt\n')
    expect(readdirSync(join(repo, '.dv/cache/runs'), {recursive: true}).length).toBeGreaterThan(1)
  })

  it('a temp file a killed dv leaves beside a pointer, in the data or in .dv is gone after the rerun', () => {
    const repo = makeRepo()
    writeFiles(repo, {'data/a.txt': 'a\n', 'data/b.txt': 'b\n', 'file.bin': 'f\n'})
    killedAt(repo, 'atomic.temp-written:1', 'add', 'data')
    expect(leftTemps(repo)).toEqual(['.data.dv.dv-tmp'])
    dv(repo, 'add', 'data', 'file.bin').ok()
    expect(leftTemps(repo)).toEqual([])
    git(repo, 'add', '-A')
    git(repo, 'commit', '-qm', 'v1')
    rmSync(join(repo, 'data'), {recursive: true})
    rmSync(join(repo, 'file.bin'))
    killedAt(repo, 'link.temp-placed:1', 'checkout')
    killedAt(repo, 'link.temp-placed:3', 'checkout')
    expect(leftTemps(repo).length).toBeGreaterThan(0)
    dv(repo, 'checkout').ok()
    expect(leftTemps(repo)).toEqual([])
    // The lock's own temp, when killed between taking the lock and removing its temp.
    killedAt(repo, 'repolock.taken:1', 'checkout')
    expect(leftTemps(repo)).toEqual([expect.stringMatching(/^\.dv\/lock\.[0-9a-f]{24}$/)])
    expect(existsSync(join(repo, '.dv/lock'))).toBe(true)
    dv(repo, 'checkout').ok()
    expect(leftTemps(repo)).toEqual([])
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('a repro killed while a stage runs: the next dv stops the orphaned stage before it can write into what the rerun records', async () => {
    const repo = makeRepo()
    // The stage appends to its output a while after it starts: an orphan of the killed run would
    // append again after the rerun's own stage, leaving a file dv.lock does not describe.
    writeFiles(repo, {'dv.yaml': 'stages:\n  slow:\n    cmd: touch started && sleep 1 && echo once >> out.txt\n    outs: [out.txt]\n'})
    const child = spawn(process.execPath, [BIN, 'repro'], {cwd: repo, env: testEnv(repo), stdio: 'ignore'})
    const gone = new Promise((resolve) => child.on('exit', resolve))
    while (!existsSync(join(repo, 'started'))) await new Promise((r) => setTimeout(r, 20))
    child.kill('SIGKILL')
    await gone
    dv(repo, 'repro').ok()
    await new Promise((r) => setTimeout(r, 1500)) // long after an orphan would have appended
    expect(readFileSync(join(repo, 'out.txt'), 'utf8')).toBe('once\n')
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })
})
