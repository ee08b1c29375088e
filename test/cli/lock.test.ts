/**
 * The repository's write lock, with real dv processes: a second writer fails naming the first
 * (or waits with --wait), read-only commands go on, a killed holder's lock is cleared, a dv
 * command inside a repro stage works under its parent's lock, and concurrent writers never
 * corrupt the repository.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN, dv, git, makeRepo, pseudoRandom, tempDir, testEnv, writeFiles} from '../helpers.js'

/** Runs dv in the background; resolves with its exit code and output when it ends. */
function background(repo: string, ...args: string[]): {child: ChildProcess; stderr: () => string; done: Promise<{code: number | null; stderr: string; stdout: string}>} {
  const child = spawn(process.execPath, [BIN, ...args], {cwd: repo, env: testEnv(repo)})
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (d) => (stdout += d))
  child.stderr!.on('data', (d) => (stderr += d))
  const done = new Promise<{code: number | null; stderr: string; stdout: string}>((resolve) => child.on('exit', (code) => resolve({code, stderr, stdout})))
  return {child, stderr: () => stderr, done}
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** A pipeline whose stage waits until the file `go` exists, so its dv repro holds the lock meanwhile. */
const WAITING_STAGE = 'stages:\n  slow:\n    cmd: touch started && while [ ! -e go ]; do sleep 0.05; done && echo out > out.txt\n    outs: [out.txt]\n'

describe('repository lock', () => {
  it('a second writer fails naming the first, read-only commands go on, --wait waits its turn', async () => {
    const repo = makeRepo()
    writeFiles(repo, {'dv.yaml': WAITING_STAGE, 'data/a.csv': 'a\n'})
    const repro = background(repo, 'repro')
    await until('the stage to start', () => existsSync(join(repo, 'started')))

    const refused = dv(repo, 'add', 'data')
    expect(refused.code).toBe(1)
    expect(refused.stderr).toBe(`ERROR: another dv process (pid ${repro.child.pid}, dv repro) is working in this repository; wait for it to finish, or run again with --wait\n`)
    expect(existsSync(join(repo, 'data.dv'))).toBe(false)
    // Read-only commands take no lock.
    expect(dv(repo, 'status').code).toBe(0)
    expect(dv(repo, 'metrics', 'show').code).toBe(0)

    const waiting = background(repo, 'add', 'data', '--wait')
    await until('add to say it waits', () => waiting.stderr().includes('waiting for'))
    await new Promise((r) => setTimeout(r, 500))
    expect(existsSync(join(repo, 'data.dv'))).toBe(false)
    writeFileSync(join(repo, 'go'), '')
    expect((await repro.done).code).toBe(0)
    const added = await waiting.done
    expect(added.code).toBe(0)
    expect(added.stderr).toContain(`waiting for another dv process (pid ${repro.child.pid}, dv repro) to finish...`)
    expect(existsSync(join(repo, 'data.dv'))).toBe(true)
    expect(existsSync(join(repo, '.dv/lock'))).toBe(false)
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
  })

  it('a lock left by a killed dv is cleared by the next one', async () => {
    const repo = makeRepo()
    writeFiles(repo, {'dv.yaml': WAITING_STAGE, 'data/a.csv': 'a\n'})
    const repro = background(repo, 'repro')
    await until('the stage to start', () => existsSync(join(repo, 'started')))
    expect(JSON.parse(readFileSync(join(repo, '.dv/lock'), 'utf8'))).toMatchObject({pid: repro.child.pid, command: 'repro'})
    repro.child.kill('SIGKILL')
    await repro.done
    writeFileSync(join(repo, 'go'), '') // lets the orphaned stage end
    expect(existsSync(join(repo, '.dv/lock'))).toBe(true)
    dv(repo, 'add', 'data').ok()
    expect(existsSync(join(repo, '.dv/lock'))).toBe(false)
    // An unreadable lock file (not one dv writes) counts as stale too.
    writeFileSync(join(repo, '.dv/lock'), 'garbage')
    writeFiles(repo, {'data/b.csv': 'b\n'})
    dv(repo, 'commit', 'data').ok()
    expect(existsSync(join(repo, '.dv/lock'))).toBe(false)
  })

  it('a dv command inside a repro stage works under the repro lock; a failed command lets go', () => {
    const repo = makeRepo()
    writeFiles(repo, {
      'raw/x.csv': 'x\n',
      'dv.yaml': `stages:\n  track:\n    cmd: cp -r raw data && node ${BIN} add data && cp data.dv pointer.txt\n    deps: [raw]\n    outs: [pointer.txt]\n`,
    })
    dv(repo, 'repro').ok()
    expect(readFileSync(join(repo, 'pointer.txt'), 'utf8')).toContain('nfiles: 1')
    expect(dv(repo, 'add', 'missing').code).toBe(1)
    expect(existsSync(join(repo, '.dv/lock'))).toBe(false)
  })

  it('concurrent writers with --wait all finish and leave a consistent repository', async () => {
    const repo = makeRepo()
    const files: Record<string, string> = {}
    for (let d = 0; d < 4; d++) for (let i = 0; i < 50; i++) files[`d${d}/f${i}.txt`] = `dir ${d} file ${i}\n`
    writeFiles(repo, files)
    const runs = [background(repo, 'add', 'd0', '--wait'), background(repo, 'add', 'd1', '--wait'), background(repo, 'gc', '--wait', '-f'), background(repo, 'add', 'd2', 'd3', '--wait')]
    const results = await Promise.all(runs.map((r) => r.done))
    expect(results.map((r) => [r.code, r.stderr.replace(/^waiting for .*\n/gm, '')])).toEqual(runs.map(() => [0, '']))
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
    // Every tracked file is in the cache: a checkout after deleting the workspace brings all back.
    for (let d = 0; d < 4; d++) writeFiles(repo, {[`d${d}/f0.txt`]: 'changed\n'})
    dv(repo, 'checkout', '--force').ok()
    expect(readFileSync(join(repo, 'd3/f0.txt'), 'utf8')).toBe('dir 3 file 0\n')
  })

  it('two clones pushing overlapping data to one remote at once both succeed; a third pulls all of it intact', async () => {
    const first = makeRepo()
    const remote = join(tempDir(), 'remote')
    const files: Record<string, Buffer> = {'big.bin': pseudoRandom(3 * 1024 * 1024, 1)}
    for (let i = 0; i < 300; i++) files[`data/f${i}.bin`] = pseudoRandom(2048, i + 2)
    dv(first, 'remote', 'add', '-d', 'store', remote).ok()
    git(first, 'add', '-A')
    git(first, 'commit', '-qm', 'config')
    const second = join(tempDir(), 'second')
    git(tempDir(), 'clone', '-q', first, second)
    // The same data on both sides, plus some of each's own.
    writeFiles(second, {...files, 'data/only-second.bin': pseudoRandom(4096, 999)})
    writeFiles(first, {...files, 'data/only-first.bin': pseudoRandom(4096, 998)})
    for (const repo of [first, second]) dv(repo, 'add', 'data', 'big.bin').ok()
    const pushes = [background(first, 'push'), background(second, 'push')]
    const results = await Promise.all(pushes.map((p) => p.done))
    expect(results.map((r) => [r.code, r.stderr])).toEqual([[0, ''], [0, '']])
    expect(dv(first, 'fsck', '--remote', 'store').ok().stdout).toMatch(/No problems found/)
    expect(dv(second, 'fsck', '--remote', 'store').ok().stdout).toMatch(/No problems found/)
    for (const repo of [first, second]) {
      git(repo, 'add', '-A')
      git(repo, 'commit', '-qm', 'data')
    }
    const third = join(tempDir(), 'third')
    git(tempDir(), 'clone', '-q', second, third)
    dv(third, 'pull').ok()
    expect(readFileSync(join(third, 'data/only-second.bin')).equals(pseudoRandom(4096, 999))).toBe(true)
    expect(readFileSync(join(third, 'big.bin')).equals(files['big.bin'])).toBe(true)
  })
})
