/**
 * dv metrics show / diff and dv params diff over three commits of a real pipeline: metrics.json
 * is a stage output (in the cache, not in git), read at each revision through that revision's
 * dv.lock; params.yaml is in git.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {BIN, dv, git, haveProgram, makeRepo, tempDir, writeFiles} from '../helpers.js'
import {Terminal} from '../tmux.js'

const PIPELINE = 'stages:\n  evaluate:\n    cmd: cp scores.json metrics.json\n    deps: [scores.json]\n    params: [train.lr]\n    outs: [model.txt]\n    metrics: [metrics.json]\n'

function history(): string {
  const repo = makeRepo()
  const version = (scores: object, lr: number, message: string) => {
    writeFiles(repo, {'scores.json': JSON.stringify(scores), 'params.yaml': `train:\n  lr: ${lr}\n  epochs: 10\n`, 'model.txt': 'm', 'data/rows.csv': `rows of ${message || 'the workspace'}\n`})
    dv(repo, 'add', 'data').ok()
    writeFileSync(join(repo, 'dv.yaml'), PIPELINE.replace('cmd: cp scores.json metrics.json', 'cmd: cp scores.json metrics.json && echo m > model.txt'))
    dv(repo, 'repro').ok()
    if (message) {
      git(repo, 'add', '-A')
      git(repo, 'commit', '-q', '-m', message)
    }
  }
  version({accuracy: 0.5, loss: 0.25, model: 'v1', per_class: {cat: 0.5, dog: 0.5}}, 0.1, 'v1')
  version({accuracy: 0.75, model: 'v2', auc: 0.5, per_class: {cat: 0.75, dog: 0.5}}, 0.2, 'v2')
  version({accuracy: 0.875, model: 'v2', auc: 0.5, per_class: {cat: 0.75, dog: 1}}, 0.2, '')
  return repo
}

describe('dv metrics and dv params', () => {
  it('show metrics in the workspace and at revisions, in every format, naming revisions without any', () => {
    const repo = history()
    expect(dv(repo, 'metrics', 'show').ok().stdout).toBe(
      'Path          accuracy  model  auc  per_class.cat  per_class.dog\n' + 'metrics.json  0.875     v2     0.5  0.75           1\n',
    )
    const initial = git(repo, 'rev-list', '--max-parents=0', 'HEAD').trim()
    expect(dv(repo, 'metrics', 'show', '-r', 'HEAD~1', '-r', initial, '--json').ok().json()).toEqual({
      workspace: {'metrics.json': {accuracy: 0.875, model: 'v2', auc: 0.5, 'per_class.cat': 0.75, 'per_class.dog': 1}},
      'HEAD~1': {'metrics.json': {accuracy: 0.5, loss: 0.25, model: 'v1', 'per_class.cat': 0.5, 'per_class.dog': 0.5}},
      [initial]: {},
    })
    expect(dv(repo, 'metrics', 'show', '-r', 'HEAD~1', '-r', initial, '--md').ok().stdout).toBe(
      '| Revision | Path | accuracy | model | auc | per_class.cat | per_class.dog | loss |\n' +
        '|---|---|---|---|---|---|---|---|\n' +
        '| workspace | metrics.json | 0.875 | v2 | 0.5 | 0.75 | 1 | - |\n' +
        '| HEAD~1 | metrics.json | 0.5 | v1 | - | 0.5 | 0.5 | 0.25 |\n' +
        `| ${initial} | (no metrics) | - | - | - | - | - | - |\n`,
    )
    expect(dv(repo, 'metrics', 'show', '--all-branches', '--csv').ok().stdout).toBe(
      'Revision,Path,accuracy,model,auc,per_class.cat,per_class.dog\nworkspace,metrics.json,0.875,v2,0.5,0.75,1\nmain,metrics.json,0.75,v2,0.5,0.75,0.5\n',
    )
  })

  it('diff metrics: changed, new, deleted and string metrics, with absolute and relative change', () => {
    const repo = history()
    expect(dv(repo, 'metrics', 'diff', 'HEAD~1', 'HEAD', '--json').ok().json()).toEqual({
      'metrics.json': {
        accuracy: {old: 0.5, new: 0.75, diff: 0.25, relative: 0.5},
        auc: {new: 0.5},
        loss: {old: 0.25},
        model: {old: 'v1', new: 'v2'},
        'per_class.cat': {old: 0.5, new: 0.75, diff: 0.25, relative: 0.5},
      },
    })
    expect(dv(repo, 'metrics', 'diff', 'HEAD~1', 'HEAD', '--md').ok().stdout).toBe(
      '| Path | Metric | HEAD~1 | HEAD | Change |\n|---|---|---|---|---|\n' +
        '| metrics.json | accuracy | 0.5 | 0.75 | +0.25 (+50.0%) |\n' +
        '| metrics.json | auc | - | 0.5 | new |\n' +
        '| metrics.json | loss | 0.25 | - | deleted |\n' +
        '| metrics.json | model | v1 | v2 | - |\n' +
        '| metrics.json | per_class.cat | 0.5 | 0.75 | +0.25 (+50.0%) |\n',
    )
    // Default: HEAD against the workspace; --all keeps unchanged ones.
    expect(dv(repo, 'metrics', 'diff').ok().stdout).toBe(
      'Path          Metric         HEAD  workspace  Change\n' + 'metrics.json  accuracy       0.75  0.875      +0.125 (+16.7%)\n' + 'metrics.json  per_class.dog  0.5   1          +0.5 (+100.0%)\n',
    )
    expect(Object.keys(dv(repo, 'metrics', 'diff', '--all', '--json').ok().json<Record<string, object>>()['metrics.json'])).toEqual(['accuracy', 'auc', 'model', 'per_class.cat', 'per_class.dog'])
    expect(dv(repo, 'metrics', 'diff', 'HEAD', 'HEAD').ok().stdout).toBe('No metric changed between HEAD and HEAD.\n')
  })

  it('compare: one row per revision with data versions, params and metrics', () => {
    const repo = history()
    const initial = git(repo, 'rev-list', '--max-parents=0', 'HEAD').trim().slice(0, 8)
    const rows = dv(repo, 'compare', '--json').ok().json<Array<{rev: string; data: Record<string, {changed: boolean; nfiles?: number}>; params: object; metrics: Record<string, unknown>; hasMetrics: boolean}>>()
    expect(rows.map((r) => r.rev)).toEqual(['workspace', git(repo, 'rev-parse', '--short=8', 'HEAD').trim(), git(repo, 'rev-parse', '--short=8', 'HEAD~1').trim(), initial])
    expect(rows.map((r) => r.data.data?.changed)).toEqual([true, true, true, undefined])
    expect(rows.map((r) => r.data['model.txt']?.changed)).toEqual([false, false, true, undefined])
    expect(rows.map((r) => r.params)).toEqual([{'train.lr': 0.2}, {'train.lr': 0.2}, {'train.lr': 0.1}, {}])
    expect(rows.map((r) => r.metrics.accuracy)).toEqual([0.875, 0.75, 0.5, undefined])
    expect(rows.map((r) => r.hasMetrics)).toEqual([true, true, true, false])
    // Columns by glob, only those that differ, sorted by a metric.
    expect(dv(repo, 'compare', 'HEAD', 'HEAD~1', '--columns', 'metric:*,param:*', '--only-changed', '--sort-by', 'metric:accuracy', '--md').ok().stdout).toBe(
      '| Revision | param:train.lr | metric:accuracy | metric:model | metric:auc | metric:per_class.cat | metric:per_class.dog | metric:loss |\n' +
        '|---|---|---|---|---|---|---|---|\n' +
        '| workspace | 0.2 | 0.875 | v2 | 0.5 | 0.75 | 1 | - |\n' +
        '| HEAD | 0.2 | 0.75 | v2 | 0.5 | 0.75 | 0.5 | - |\n' +
        '| HEAD~1 | 0.1 | 0.5 | v1 | - | 0.5 | 0.5 | 0.25 |\n',
    )
    expect(dv(repo, 'compare', '--sort-by', 'metric:nope').stderr).toMatch(/^ERROR: no column "metric:nope" to sort by/)
    expect(dv(repo, 'compare', initial).ok().stdout).toMatch(new RegExp(`\\n${initial} +- +- +- .*\\(no metrics\\)\\n$`))
    // -i without a terminal says so instead of hanging.
    const piped = dv(repo, 'compare', '-i')
    expect(piped.code).toBe(2)
    expect(piped.stderr).toBe('ERROR: dv compare -i needs a terminal (stdin and stdout); leave out -i for a table\n')
  })

  it.skipIf(!haveProgram('tmux'))('compare -i: a table in a real terminal (tmux) that moves, sorts, filters and quits on keys', () => {
    const repo = history()
    const term = new Terminal(tempDir(), repo, `node ${BIN} compare -i --columns 'metric:accuracy,metric:loss,param:*'`, 100, 12)
    try {
      // The first frame: dv starts, reads the history and loads ink (slow on a loaded machine).
      let screen = term.waitFor(/q quit/, 60_000)
      const heads = [git(repo, 'rev-parse', '--short=8', 'HEAD').trim(), git(repo, 'rev-parse', '--short=8', 'HEAD~1').trim()]
      expect(screen.split('\n').slice(0, 4)).toEqual([
        'Revision   param:train.lr  metric:accuracy  metric:loss',
        'workspace  0.2             0.875            -',
        `${heads[0]}   0.2             0.75             -`,
        `${heads[1]}   0.1             0.5              0.25`,
      ])
      // Right to metric:accuracy, sort (high to low), then again (low to high).
      term.press('Right', 's')
      screen = term.waitFor(/sorted by metric:accuracy \(desc\)/)
      expect(screen.split('\n')[1]).toMatch(/^workspace /)
      term.press('s')
      screen = term.waitFor(/sorted by metric:accuracy \(asc\)/)
      expect(screen.split('\n').slice(1, 4).map((l) => l.split(' ')[0])).toEqual([heads[1], heads[0], 'workspace'])
      // Only the columns that differ between rows: all three do here, with the initial commit's row empty.
      term.press('c')
      expect(term.waitFor(/only changed columns/)).toMatch(/4 revisions, 3 columns · sorted by metric:accuracy \(asc\) · only changed columns/)
      term.press('q')
      expect(term.waitFor(/\[exit \d+\]/)).toMatch(/\[exit 0\]/)
    } finally {
      term.kill()
    }
  }, 180_000)

  it('diff params the stages use, and read CSV metrics given by path', () => {
    const repo = history()
    expect(dv(repo, 'params', 'diff', 'HEAD~1', 'HEAD').ok().stdout).toBe('Path         Param     HEAD~1  HEAD\nparams.yaml  train.lr  0.1     0.2\n')
    expect(dv(repo, 'params', 'diff', 'HEAD~1', '--json', '--all').ok().json()).toEqual({'params.yaml': {'train.lr': {old: 0.1, new: 0.2}}})
    expect(dv(repo, 'params', 'diff').ok().stdout).toBe('No param changed between HEAD and workspace.\n')
    writeFiles(repo, {'eval.csv': 'precision,recall,label\n0.5,0.25,cats\n'})
    expect(dv(repo, 'metrics', 'show', 'eval.csv', '--json').ok().json()).toEqual({workspace: {'eval.csv': {precision: 0.5, recall: 0.25, label: 'cats'}}})
    writeFiles(repo, {'bad.json': '{"a": '})
    const bad = dv(repo, 'metrics', 'show', 'bad.json')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/^ERROR: bad\.json: not a metrics file dv can read: /)
  })
})
