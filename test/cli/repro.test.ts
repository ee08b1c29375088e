/**
 * dv repro end to end: real stage processes (sh), a real git repository, dv.lock on disk, and a
 * counter file every stage command appends its name to, so "ran" and "restored" are told apart
 * by what actually executed.
 */
import {spawn} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN, dv, dvEnv, git, makeRepo, tempDir, testEnv, writeFiles} from '../helpers.js'

const PIPELINE = `stages:
  ingest:
    cmd: mkdir -p data && cp raw.txt data/raw.txt && echo ingest >> counter.log
    deps: [raw.txt]
    outs: [data/raw.txt]
  clean:
    cmd: tr a-z A-Z < data/raw.txt > data/clean.txt && echo clean >> counter.log
    deps: [data/raw.txt]
    params: [clean.mode]
    outs: [data/clean.txt]
  train:
    cmd: echo "lr=\${train.lr}" > model.txt && cat data/clean.txt >> model.txt && echo train >> counter.log
    deps: [data/clean.txt]
    params: [train.lr]
    outs: [model.txt]
  evaluate:
    cmd: wc -l < model.txt > metrics.txt && echo evaluate >> counter.log
    deps: [model.txt]
    metrics: [metrics.txt]
`

function pipelineRepo(): string {
  const repo = makeRepo()
  writeFiles(repo, {'raw.txt': 'alpha\nbeta\n', 'params.yaml': 'clean:\n  mode: upper\ntrain:\n  lr: 0.1\n', 'dv.yaml': PIPELINE, '.gitignore': 'counter.log\n'})
  return repo
}

const counter = (repo: string) => (existsSync(join(repo, 'counter.log')) ? readFileSync(join(repo, 'counter.log'), 'utf8').split('\n').filter(Boolean) : [])
const resetCounter = (repo: string) => writeFileSync(join(repo, 'counter.log'), '')
const actions = (repo: string, ...args: string[]) =>
  Object.fromEntries(dv(repo, 'repro', '--json', ...args).ok().json<Array<{stage: string; action: string}>>().map((r) => [r.stage, r.action]))

describe('dv repro', () => {
  it('runs what is stale, skips what is not, and restores earlier runs from the run-cache', () => {
    const repo = pipelineRepo()
    expect(actions(repo)).toEqual({ingest: 'ran', clean: 'ran', train: 'ran', evaluate: 'ran'})
    expect(counter(repo)).toEqual(['ingest', 'clean', 'train', 'evaluate'])
    expect(readFileSync(join(repo, 'model.txt'), 'utf8')).toBe('lr=0.1\nALPHA\nBETA\n')
    const lock = readFileSync(join(repo, 'dv.lock'), 'utf8')
    expect(lock).toMatch(/^schema: '2.0'\nstages:\n  ingest:\n    cmd: mkdir -p data/)
    expect(lock).toContain('    params:\n      params.yaml:\n        train.lr: 0.1\n')
    expect(lock).toMatch(/    outs:\n      - path: model.txt\n        hash: blake3\n        blake3: [0-9a-f]{64}\n        size: 18\n/)

    resetCounter(repo)
    expect(actions(repo)).toEqual({ingest: 'up to date', clean: 'up to date', train: 'up to date', evaluate: 'up to date'})
    expect(counter(repo)).toEqual([])

    // A param change re-runs exactly the stage using it and what is downstream.
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
    writeFileSync(join(repo, 'params.yaml'), 'clean:\n  mode: upper\ntrain:\n  lr: 0.25\n')
    expect(dv(repo, 'status').ok().stdout).toBe('train (stage):\n\tcmd changed\n\tparam changed: train.lr\n')
    expect(dv(repo, 'repro', '--dry').ok().stdout).toBe(
      'Stage ingest is up to date.\nStage clean is up to date.\nWould run stage train (cmd changed, param changed: train.lr).\nWould run stage evaluate (upstream would run: train).\n',
    )
    expect(actions(repo)).toEqual({ingest: 'up to date', clean: 'up to date', train: 'ran', evaluate: 'ran'})
    expect(counter(repo)).toEqual(['train', 'evaluate'])

    // Reverting it restores both from the run-cache: nothing runs.
    resetCounter(repo)
    writeFileSync(join(repo, 'params.yaml'), 'clean:\n  mode: upper\ntrain:\n  lr: 0.1\n')
    expect(actions(repo)).toEqual({ingest: 'up to date', clean: 'up to date', train: 'restored', evaluate: 'restored'})
    expect(counter(repo)).toEqual([])
    expect(readFileSync(join(repo, 'model.txt'), 'utf8')).toBe('lr=0.1\nALPHA\nBETA\n')
    expect(readFileSync(join(repo, 'dv.lock'), 'utf8')).toBe(lock)

    // Targets: a stage and what is upstream; -s only it; --downstream it and what follows.
    expect(Object.keys(actions(repo, 'clean'))).toEqual(['ingest', 'clean'])
    expect(Object.keys(actions(repo, 'clean', '-s'))).toEqual(['clean'])
    expect(Object.keys(actions(repo, 'train', '--downstream'))).toEqual(['train', 'evaluate'])
    expect(dv(repo, 'dag', '--json').ok().json()).toEqual({
      stages: ['ingest', 'clean', 'train', 'evaluate'],
      edges: [{from: 'ingest', to: 'clean'}, {from: 'clean', to: 'train'}, {from: 'train', to: 'evaluate'}],
    })
    expect(dv(repo, 'dag', 'clean', '--dot').ok().stdout).toBe('digraph pipeline {\n  "ingest";\n  "clean";\n  "ingest" -> "clean";\n}\n')

    // An upstream re-run whose output is unchanged leaves downstream alone; a deleted output is restored.
    writeFileSync(join(repo, 'raw.txt'), 'alpha\nbeta\n')
    dv(repo, 'repro', '-f', '-s', 'ingest').ok()
    expect(counter(repo)).toEqual(['ingest'])
    expect(actions(repo)).toMatchObject({clean: 'up to date', train: 'up to date'})
    resetCounter(repo)
    writeFileSync(join(repo, 'model.txt'), 'tampered')
    expect(actions(repo, 'train')).toEqual({ingest: 'up to date', clean: 'up to date', train: 'restored'})
    expect(readFileSync(join(repo, 'model.txt'), 'utf8')).toBe('lr=0.1\nALPHA\nBETA\n')
    expect(counter(repo)).toEqual([])
  })

  it('CI on a fresh clone: dv repro --pull restores every stage from the remote, running nothing', () => {
    const repo = pipelineRepo()
    const store = join(tempDir(), 'store')
    dv(repo, 'remote', 'add', '-d', 'store', store).ok()
    dv(repo, 'repro').ok()
    writeFileSync(join(repo, 'params.yaml'), 'clean:\n  mode: upper\ntrain:\n  lr: 0.25\n')
    dv(repo, 'repro').ok()
    const model025 = readFileSync(join(repo, 'model.txt'), 'utf8')
    writeFileSync(join(repo, 'params.yaml'), 'clean:\n  mode: upper\ntrain:\n  lr: 0.1\n')
    dv(repo, 'repro').ok()
    git(repo, 'add', '-A')
    git(repo, 'commit', '-q', '-m', 'pipeline')
    // Stage outputs and the run-cache (6 records: 4 stages, then train and evaluate again).
    expect(dv(repo, 'push', '--run-cache').ok().stdout).toMatch(/ objects pushed \(0 already there\), 6 run records — remote store\n$/)
    expect(dv(repo, 'push', '--run-cache', '--json').ok().json()).toMatchObject({transferred: 0, runs: 0})

    const clone = join(tempDir(), 'clone')
    git(tempDir(), 'clone', '-q', repo, clone)
    expect(actions(clone, '--pull')).toEqual({ingest: 'up to date', clean: 'up to date', train: 'up to date', evaluate: 'up to date'})
    expect(readFileSync(join(clone, 'model.txt'), 'utf8')).toBe('lr=0.1\nALPHA\nBETA\n')
    // A param value that ran elsewhere is restored from the pulled run-cache.
    writeFileSync(join(clone, 'params.yaml'), 'clean:\n  mode: upper\ntrain:\n  lr: 0.25\n')
    expect(actions(clone)).toEqual({ingest: 'up to date', clean: 'up to date', train: 'restored', evaluate: 'restored'})
    expect(readFileSync(join(clone, 'model.txt'), 'utf8')).toBe(model025)
    expect(counter(clone)).toEqual([])
  })

  it('a failing stage stops what follows, keeps its previous dv.lock entry, and names itself', () => {
    const repo = pipelineRepo()
    dv(repo, 'repro').ok()
    const lock = readFileSync(join(repo, 'dv.lock'), 'utf8')
    writeFileSync(join(repo, 'dv.yaml'), PIPELINE.replace('tr a-z A-Z < data/raw.txt', 'exit 3; tr a-z A-Z < data/raw.txt'))
    resetCounter(repo)
    const r = dv(repo, 'repro')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('ERROR: Stage clean failed: stage clean exited with code 3')
    expect(r.stdout).toContain('Stage train not run: an upstream stage failed.')
    expect(counter(repo)).toEqual([])
    expect(readFileSync(join(repo, 'dv.lock'), 'utf8')).toBe(lock)
  })

  it('honours -k, persist, frozen, always_changed, cache: false and wdir', () => {
    const repo = makeRepo()
    writeFiles(repo, {
      'sub/in.txt': 'in\n',
      'dv.yaml': `stages:
  broken:
    cmd: exit 1
    outs: [never.txt]
  log:
    cmd: echo run >> log.txt && echo log >> counter.log
    outs:
      - log.txt:
          persist: true
          cache: false
    always_changed: true
  local:
    wdir: sub
    cmd: cp in.txt out.txt && echo local >> ../counter.log
    deps: [in.txt]
    outs: [out.txt]
  held:
    cmd: echo held >> counter.log
    frozen: true
`,
    })
    // Without -k the first failure stops the rest; with -k the independent stages finish.
    const stopped = dv(repo, 'repro', '--json')
    expect(stopped.code).toBe(1)
    expect(Object.fromEntries(stopped.json<Array<{stage: string; action: string}>>().map((r) => [r.stage, r.action]))).toMatchObject({broken: 'failed', log: 'not run', local: 'not run'})
    const kept = dv(repo, 'repro', '-k', '--json')
    expect(kept.code).toBe(1)
    expect(Object.fromEntries(kept.json<Array<{stage: string; action: string}>>().map((r) => [r.stage, r.action]))).toEqual({broken: 'failed', log: 'ran', local: 'ran', held: 'frozen'})
    expect(readFileSync(join(repo, 'sub/out.txt'), 'utf8')).toBe('in\n')
    // always_changed runs every time; its persistent, uncached output keeps growing and is never
    // restored from the run-cache.
    dv(repo, 'repro', 'log').ok()
    expect(readFileSync(join(repo, 'log.txt'), 'utf8')).toBe('run\nrun\n')
    expect(counter(repo)).toEqual(['log', 'local', 'log'])
  })

  it('Ctrl-C stops the running stages, their children too, and dv.lock keeps only what finished', async () => {
    const repo = makeRepo()
    writeFiles(repo, {
      'dv.yaml': 'stages:\n  quick:\n    cmd: echo done > quick.txt\n    outs: [quick.txt]\n  slow:\n    cmd: sleep 60 & echo $! > child.pid; wait\n    deps: [quick.txt]\n    outs: [slow.txt]\n',
    })
    const child = spawn(process.execPath, [BIN, 'repro'], {cwd: repo, env: testEnv(join(tempDir(), 'home')), stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    while (!existsSync(join(repo, 'child.pid'))) await new Promise((r) => setTimeout(r, 20))
    await new Promise((r) => setTimeout(r, 100)) // the pid file is written before the sleep is waited on
    const grandchild = Number(readFileSync(join(repo, 'child.pid'), 'utf8'))
    child.kill('SIGINT')
    expect(await exited).toBe(130)
    expect(stderr).toContain('ERROR: interrupted (SIGINT): running stages were stopped; dv.lock records only what finished (quick)')
    // Alive: it exists and is not a zombie waiting to be reaped (by an init that may never reap).
    const alive = (pid: number) => existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
    for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20))
    expect(alive(grandchild)).toBe(false)
    const lock = readFileSync(join(repo, 'dv.lock'), 'utf8')
    expect(lock).toContain('  quick:')
    expect(lock).not.toContain('  slow:')
  })

  it('rejects cycles and overlapping outputs, naming the stages', () => {
    const repo = makeRepo()
    writeFiles(repo, {'dv.yaml': 'stages:\n  a:\n    cmd: cp y x\n    deps: [y]\n    outs: [x]\n  b:\n    cmd: cp x y\n    deps: [x]\n    outs: [y]\n'})
    const r = dv(repo, 'repro')
    expect(r.code).toBe(1)
    expect(r.stderr.trim()).toBe('ERROR: the pipeline has a cycle: a -> b -> a')
    writeFiles(repo, {'dv.yaml': 'stages:\n  a:\n    cmd: mkdir -p d\n    outs: [d]\n  b:\n    cmd: touch d/x\n    outs: [d/x]\n'})
    expect(dv(repo, 'repro').stderr.trim()).toBe('ERROR: output d/x of stage b is inside output d of stage a')
    writeFiles(repo, {'dv.yaml': 'stages:\n  a:\n    cmd: touch x\n    outs: [x]\n  b:\n    cmd: touch x\n    outs: [x]\n'})
    expect(dv(repo, 'repro').stderr.trim()).toBe('ERROR: output x is produced by two stages: a and b')
    writeFiles(repo, {'dv.yaml': 'stages:\n  a:\n    cmd: touch x\n    outs: [x]\n  b:\n    cmd: touch y\n    outs: [y]\n'})
    const unknown = dv(repo, 'repro', 'nope')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.trim()).toBe('ERROR: no stage named "nope" in dv.yaml (stages: a, b)')
  })

  it('runs independent stages side by side with -j', () => {
    const repo = makeRepo()
    const stage = (n: string) => `  ${n}:\n    cmd: date +%s%N > ${n}.start && sleep 1 && date +%s%N > ${n}.end\n    outs: [${n}.start, ${n}.end]\n`
    writeFiles(repo, {'dv.yaml': `stages:\n${stage('left')}${stage('right')}`})
    dv(repo, 'repro', '-j', '2').ok()
    const t = (f: string) => Number(readFileSync(join(repo, f), 'utf8').trim())
    expect(t('left.start')).toBeLessThan(t('right.end'))
    expect(t('right.start')).toBeLessThan(t('left.end'))
  })

  it('GPU stages get GPUs no other running stage holds, and the run log says which', () => {
    const repo = makeRepo()
    const bin = tempDir()
    writeFileSync(join(bin, 'nvidia-smi'), '#!/bin/sh\necho "0, GPU-aaaa, Fake GPU, 81559, 0"\necho "1, GPU-bbbb, Fake GPU, 81559, 0"\n')
    chmodSync(join(bin, 'nvidia-smi'), 0o755)
    const stage = (n: string) => `  ${n}:\n    cmd: echo "$CUDA_VISIBLE_DEVICES $(date +%s%N)" > ${n}.txt && sleep 0.5 && date +%s%N >> ${n}.txt\n    outs: [${n}.txt]\n    gpus: 1\n`
    writeFiles(repo, {'dv.yaml': `stages:\n${['t1', 't2', 't3', 't4'].map(stage).join('')}  big:\n    cmd: echo never\n    gpus: 3\n`})
    const env = {PATH: `${bin}:${process.env.PATH}`}
    const r = dvEnv(repo, env, 'repro', '-j', '4', 't1', 't2', 't3', 't4')
    expect(r.code).toBe(0)
    const runs = ['t1', 't2', 't3', 't4'].map((n) => {
      const [first, end] = readFileSync(join(repo, `${n}.txt`), 'utf8').trim().split('\n')
      const [gpu, start] = first.split(' ')
      return {gpu, start: Number(start), end: Number(end)}
    })
    for (const a of runs) expect(['GPU-aaaa', 'GPU-bbbb']).toContain(a.gpu)
    for (const a of runs) for (const b of runs) if (a !== b && a.start < b.end && b.start < a.end) expect(a.gpu).not.toBe(b.gpu)
    const big = dvEnv(repo, env, 'repro', 'big')
    expect(big.code).toBe(1)
    expect(big.stderr).toContain("stage 'big' needs 3 GPUs but this machine has 2")
    const cpu = dvEnv(repo, env, 'repro', 'big', '--allow-cpu')
    expect(cpu.code).toBe(0)
    expect(cpu.stdout).toContain('[big] never')
    // Which GPU each run had is in its log (dv.lock stays the same from machine to machine).
    const logDir = join(repo, '.dv/logs/t1')
    const log = readFileSync(join(logDir, readdirSync(logDir)[0]), 'utf8')
    expect(log).toMatch(/^# CUDA_VISIBLE_DEVICES=GPU-(aaaa|bbbb) \(Fake GPU\)$/m)
    expect(readFileSync(join(repo, 'dv.lock'), 'utf8')).not.toContain('GPU-')
    expect(dvEnv(repo, env, 'gpus').ok().stdout).toBe('0\tFake GPU\t0/81559 MiB used\tGPU-aaaa\n1\tFake GPU\t0/81559 MiB used\tGPU-bbbb\n')
  })

  it('runs an unchanged DVC pipeline (dvc.yaml) with foreach and params interpolation', () => {
    const repo = makeRepo()
    writeFiles(repo, {
      'params.yaml': 'greeting: hello\nregions: [us, eu]\n',
      'dvc.yaml': 'stages:\n  greet:\n    foreach: ${regions}\n    do:\n      cmd: mkdir -p out && echo "${greeting} ${item}" > out/${item}.txt\n      params: [greeting]\n      outs:\n        - out/${item}.txt\n',
    })
    mkdirSync(join(repo, 'out'))
    expect(actions(repo)).toEqual({'greet@us': 'ran', 'greet@eu': 'ran'})
    expect(readFileSync(join(repo, 'out/eu.txt'), 'utf8')).toBe('hello eu\n')
    expect(dv(repo, 'dag').ok().stdout).toBe('greet@us\ngreet@eu\n')
    git(repo, 'add', '-A')
  })
})

describe('dv stage add and dv dag', () => {
  it('writes stages DVC-style and draws the graph', () => {
    const repo = makeRepo()
    writeFiles(repo, {'raw.txt': 'x\n'})
    dv(repo, 'stage', 'add', '-n', 'prep', '-d', 'raw.txt', '-o', 'prep.txt', 'cp raw.txt prep.txt').ok()
    dv(repo, 'stage', 'add', '-n', 'train', '-d', 'prep.txt', '-p', 'lr', '-o', 'model.bin', '-m', 'metrics.json', '--gpus', '1', 'cp prep.txt model.bin && echo {} > metrics.json').ok()
    expect(readFileSync(join(repo, 'dv.yaml'), 'utf8')).toBe(
      'stages:\n  prep:\n    cmd: cp raw.txt prep.txt\n    deps:\n      - raw.txt\n    outs:\n      - prep.txt\n' +
        '  train:\n    cmd: cp prep.txt model.bin && echo {} > metrics.json\n    deps:\n      - prep.txt\n    params:\n      - lr\n    outs:\n      - model.bin\n    metrics:\n      - metrics.json\n    gpus: 1\n',
    )
    expect(dv(repo, 'stage', 'add', '-n', 'prep', 'true').stderr.trim()).toBe('ERROR: stage prep already exists in dv.yaml (use --force to replace it)')
    expect(dv(repo, 'dag').ok().stdout).toBe('prep\ntrain <- prep\n')
    expect(dv(repo, 'dag', '--mermaid').ok().stdout).toBe('flowchart TD\n  s0["prep"]\n  s1["train"]\n  s0 --> s1\n')
    // A stage that would make a cycle is refused and the file is left as it was.
    const before = readFileSync(join(repo, 'dv.yaml'), 'utf8')
    expect(dv(repo, 'stage', 'add', '-n', 'loop', '-d', 'model.bin', '-o', 'raw.txt', 'true').stderr.trim()).toMatch(/^ERROR: the pipeline has a cycle: /)
    expect(readFileSync(join(repo, 'dv.yaml'), 'utf8')).toBe(before)
  })
})
