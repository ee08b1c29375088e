import {describe, expect, it} from 'vitest'

import {DvError, InvalidFileError} from '../../src/errors.js'
import {lookupParam, paramValue, paramsFileType, parseParams, readParams, selectParams} from '../../src/pipeline/params.js'
import {loadPipeline, PIPELINE_FILES, plotDefinitions, pyFloat, type StageDef, stageOutputs} from '../../src/pipeline/schema.js'
import {tempDir, writeFiles} from '../helpers.js'

/** A repository directory holding `files`; `dv.yaml` among them unless another pipeline file is given. */
function repoWith(files: Record<string, string>): string {
  const root = tempDir()
  writeFiles(root, files)
  return root
}

function load(yaml: string, files: Record<string, string> = {}) {
  const pipeline = loadPipeline(repoWith({'dv.yaml': yaml, ...files}))
  if (!pipeline) throw new Error('no pipeline')
  return pipeline
}

function stage(yaml: string, files: Record<string, string> = {}, name?: string): StageDef {
  const stages = load(yaml, files).stages
  return name ? stages.find((s) => s.name === name)! : stages[0]
}

/** The one-line message `loadPipeline` throws, asserting it is an InvalidFileError. */
function errorOf(yaml: string, files: Record<string, string> = {}): string {
  try {
    load(yaml, files)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidFileError)
    const message = (error as Error).message
    expect(message.split('\n')).toHaveLength(1)
    return message
  }
  throw new Error('expected an error')
}

const out = (path: string, extra: Partial<{cache: boolean; persist: boolean; kind: 'out' | 'metric' | 'plot'}> = {}) => ({path, cache: true, persist: false, kind: 'out', ...extra})

describe('pipeline files', () => {
  it('reads a plain DVC pipeline with every stage key', () => {
    const yaml = `stages:
  prepare:
    cmd: python prepare.py data/raw.csv
    deps:
      - data/raw.csv
      - prepare.py
    outs:
      - data/prepared/
  train:
    desc: Train the model
    cmd:
      - python train.py
      - echo done
    deps: [data/prepared, ./train.py]
    params:
      - train.lr
      - train.epochs
      - config/model.json:
          - layers
      - extra.yaml:
    outs:
      - model.pkl:
          persist: true
          desc: the model
          remote: store
          push: false
    metrics:
      - metrics.json:
          cache: false
    plots:
      - plots/loss.csv:
          x: step
          y: loss
          template: linear
    frozen: true
    always_changed: false
    meta:
      anything: [1, 2]
    gpus: 2
metrics: [metrics.json]
params: [params.yaml]
plots:
  - plots/loss.csv:
      y: loss
  - compare:
      y:
        a.csv: acc
        b/c.csv: acc
artifacts:
  model:
    path: model.pkl
    type: model
`
    const p = load(yaml)
    expect(p.file).toBe('dv.yaml')
    expect(p.stages).toEqual([
      {
        name: 'prepare',
        cmd: ['python prepare.py data/raw.csv'],
        wdir: '.',
        deps: ['data/raw.csv', 'prepare.py'],
        outs: [out('data/prepared')],
        params: [],
        frozen: false,
        alwaysChanged: false,
        gpus: 0,
        file: 'dv.yaml',
        line: 2,
      },
      {
        name: 'train',
        desc: 'Train the model',
        cmd: ['python train.py', 'echo done'],
        wdir: '.',
        deps: ['data/prepared', 'train.py'],
        outs: [out('model.pkl', {persist: true}), out('metrics.json', {cache: false, kind: 'metric'}), out('plots/loss.csv', {kind: 'plot', plot: {x: 'step', y: ['loss'], template: 'linear'}})],
        params: [
          {file: 'params.yaml', keys: ['train.lr', 'train.epochs']},
          {file: 'config/model.json', keys: ['layers']},
          {file: 'extra.yaml', keys: []},
        ],
        frozen: true,
        alwaysChanged: false,
        gpus: 2,
        file: 'dv.yaml',
        line: 9,
      },
    ])
    expect(p.metrics).toEqual(['metrics.json'])
    expect(p.params).toEqual(['params.yaml'])
    expect(p.plots).toEqual(['plots/loss.csv', 'a.csv', 'b/c.csv'])
    expect(plotDefinitions(p)).toEqual([
      {id: 'plots/loss.csv', files: [{path: 'plots/loss.csv', y: ['loss']}]},
      {id: 'compare', files: [{path: 'a.csv', y: ['acc']}, {path: 'b/c.csv', y: ['acc']}]},
    ])
  })

  it('keeps plot definitions: x/y fields or files, templates, labels; stage plots not defined at top level', () => {
    const p = load(`stages:
  eval:
    cmd: run
    plots:
      - roc.json: {x: fpr, y: tpr, template: simple, title: ROC}
      - plots/cm.csv
plots:
  - confusion:
      template: confusion
      x: actual
      y: {classes.csv: predicted}
      x_label: truth
  - loss.csv: {y: [train, val], x: step}
  - img/curve.png
  - cmp:
      x: {a.csv: step, b.csv: epoch}
      y: {a.csv: acc, b.csv: [acc, f1]}
`)
    expect(plotDefinitions(p)).toEqual([
      {id: 'confusion', template: 'confusion', xLabel: 'truth', files: [{path: 'classes.csv', y: ['predicted'], x: 'actual'}]},
      {id: 'loss.csv', files: [{path: 'loss.csv', y: ['train', 'val'], x: 'step'}]},
      {id: 'img/curve.png', files: [{path: 'img/curve.png', y: []}]},
      {id: 'cmp', files: [{path: 'a.csv', y: ['acc'], x: 'step'}, {path: 'b.csv', y: ['acc', 'f1'], x: 'epoch'}]},
      {id: 'roc.json', template: 'simple', title: 'ROC', files: [{path: 'roc.json', y: ['tpr'], x: 'fpr'}]},
      {id: 'plots/cm.csv', files: [{path: 'plots/cm.csv', y: []}]},
    ])
    expect(() => load('plots:\n  - a:\n      y: {a.csv: 3}\n')).toThrow(/dv.yaml:3: "plots" "a": "y" of "a.csv" must be a field name or a list of them, got a number/)
    expect(() => load('plots:\n  - a.csv:\n      colour: red\n')).toThrow(/dv.yaml:3: "plots" "a.csv": unknown key "colour"/)
    expect(() => load('plots:\n  - a:\n      x: {b.csv: s}\n      y: {a.csv: v}\n')).toThrow(/"x" names "b.csv", which is not among the files of "y"/)
  })

  it('falls back to dvc.yaml, prefers dv.yaml, and is undefined without either', () => {
    expect(PIPELINE_FILES).toEqual(['dv.yaml', 'dvc.yaml'])
    const dvc = repoWith({'dvc.yaml': 'stages:\n  a:\n    cmd: echo dvc\n'})
    expect(loadPipeline(dvc)?.file).toBe('dvc.yaml')
    expect(loadPipeline(dvc)?.stages[0]).toMatchObject({name: 'a', cmd: ['echo dvc'], file: 'dvc.yaml'})
    const both = repoWith({'dvc.yaml': 'stages:\n  a:\n    cmd: echo dvc\n', 'dv.yaml': 'stages:\n  b:\n    cmd: echo dv\n'})
    expect(loadPipeline(both)?.stages.map((s) => s.name)).toEqual(['b'])
    expect(loadPipeline(tempDir())).toBeUndefined()
    expect(load('').stages).toEqual([])
    expect(load('stages:\n').stages).toEqual([])
  })

  it('stageOutputs lists every out, metric and plot with its stage, resolved', () => {
    const root = repoWith({
      'dvc.yaml': `stages:
  train:
    foreach: [a, b]
    do:
      cmd: train \${item}
      wdir: sub
      outs:
        - model-\${item}/
      metrics: [m.json]
`,
    })
    expect(stageOutputs(root)).toEqual([
      {stage: 'train@a', path: 'sub/model-a'},
      {stage: 'train@a', path: 'sub/m.json'},
      {stage: 'train@b', path: 'sub/model-b'},
      {stage: 'train@b', path: 'sub/m.json'},
    ])
    expect(stageOutputs(tempDir())).toEqual([])
  })

  it('resolves deps, outs and params against wdir', () => {
    const s = stage(`stages:
  build:
    wdir: sub/dir/
    cmd: make
    deps: [../../data.csv, src, ./x/../y]
    outs: [out/]
    params:
      - lr
      - ../../params.yaml: [seed]
      - conf/p.json:
`)
    expect(s.wdir).toBe('sub/dir')
    expect(s.deps).toEqual(['data.csv', 'sub/dir/src', 'sub/dir/y'])
    expect(s.outs).toEqual([out('sub/dir/out')])
    expect(s.params).toEqual([
      {file: 'sub/dir/params.yaml', keys: ['lr']},
      {file: 'params.yaml', keys: ['seed']},
      {file: 'sub/dir/conf/p.json', keys: []},
    ])
  })

  it('merges params entries per file; a file tracked whole anywhere is tracked whole', () => {
    const s = stage(`stages:
  t:
    cmd: t
    params:
      - a
      - b.c
      - a
      - other.yaml: [x]
      - other.yaml:
      - params.yaml: [d]
`)
    expect(s.params).toEqual([
      {file: 'params.yaml', keys: ['a', 'b.c', 'd']},
      {file: 'other.yaml', keys: []},
    ])
  })
})

describe('foreach and matrix', () => {
  it('expands a list of simple values into name@value stages', () => {
    const stages = load(`stages:
  cleanups:
    foreach:
      - raw1
      - labels1
    do:
      cmd: clean.py "\${item}"
      outs:
        - \${item}.cln
  nums:
    foreach: [1, 2.5, true]
    do:
      cmd: echo \${item}
`).stages
    expect(stages.map((s) => [s.name, s.cmd, s.outs.map((o) => o.path)])).toEqual([
      ['cleanups@raw1', ['clean.py "raw1"'], ['raw1.cln']],
      ['cleanups@labels1', ['clean.py "labels1"'], ['labels1.cln']],
      ['nums@1', ['echo 1'], []],
      ['nums@2.5', ['echo 2.5'], []],
      ['nums@true', ['echo true'], []],
    ])
    expect(stages.map((s) => s.line)).toEqual([2, 2, 10, 10, 10])
  })

  it('names stages by index for a list of mappings, and by key for a mapping', () => {
    const stages = load(`stages:
  train:
    foreach:
      - epochs: 3
        thresh: 10
      - epochs: 10
        thresh: 15
    do:
      cmd: python train.py \${item.epochs} \${item.thresh}
  build:
    foreach:
      uk:
        epochs: 3
      us:
        epochs: 10
    do:
      cmd: python train.py '\${key}' \${item.epochs}
      outs:
        - model-\${key}.hdfs
`).stages
    expect(stages.map((s) => [s.name, s.cmd[0]])).toEqual([
      ['train@0', 'python train.py 3 10'],
      ['train@1', 'python train.py 10 15'],
      ['build@uk', "python train.py 'uk' 3"],
      ['build@us', "python train.py 'us' 10"],
    ])
    expect(stages[3].outs).toEqual([out('model-us.hdfs')])
  })

  it('iterates over a list or mapping named by ${} from params.yaml', () => {
    const stages = load(
      `stages:
  mystages:
    foreach: \${myobject}
    do:
      cmd: ./script.py \${key} \${item.prop1}
      outs:
        - \${item.prop2}
  sizes:
    foreach: \${sizes}
    do:
      cmd: resize --to \${item}
`,
      {'params.yaml': 'myobject:\n  a: {prop1: 1, prop2: out-a}\n  b: {prop1: 2, prop2: out-b}\nsizes: [64, 128]\n'},
    ).stages
    expect(stages.map((s) => [s.name, s.cmd[0], s.outs.map((o) => o.path)])).toEqual([
      ['mystages@a', './script.py a 1', ['out-a']],
      ['mystages@b', './script.py b 2', ['out-b']],
      ['sizes@64', 'resize --to 64', []],
      ['sizes@128', 'resize --to 128', []],
    ])
  })

  it('expands a matrix as a cartesian product named by values, or axis and index for composite ones', () => {
    const stages = load(
      `stages:
  stage1:
    matrix:
      os: [windows, linux]
      pyv: ["3.9", "3.10"]
      lst:
      - [1, 2]
      - [3, 4]
    cmd: echo \${item.os} \${item.pyv} \${item.lst.0} \${item.lst[1]} \${key}
    outs:
      - out/\${item.os}-\${item.pyv}
  fromparams:
    matrix:
      model: \${models}
      seed: [1]
    cmd: train \${item.model} \${item.seed}
`,
      {'params.yaml': 'models: [a, b]\n'},
    ).stages
    expect(stages.map((s) => s.name)).toEqual([
      'stage1@windows-3.9-lst0',
      'stage1@windows-3.9-lst1',
      'stage1@windows-3.10-lst0',
      'stage1@windows-3.10-lst1',
      'stage1@linux-3.9-lst0',
      'stage1@linux-3.9-lst1',
      'stage1@linux-3.10-lst0',
      'stage1@linux-3.10-lst1',
      'fromparams@a-1',
      'fromparams@b-1',
    ])
    expect(stages[1].cmd).toEqual(['echo windows 3.9 3 4 windows-3.9-lst1'])
    expect(stages[1].outs).toEqual([out('out/windows-3.9')])
    expect(stages[9].cmd).toEqual(['train b 1'])
  })
})

describe('vars and interpolation', () => {
  it('merges params.yaml, vars files (whole or some keys) and inline vars, per stage too', () => {
    const p = load(
      `vars:
  - config.yaml:model,data
  - name: exp1
    grp: {b: 2}
  - extra.json
stages:
  train:
    wdir: sub
    vars:
      - local.yaml
      - here: 1
    cmd: train \${model.size} \${data} \${name} \${grp.a} \${grp.b} \${flag} \${local} \${here} \${lr}
`,
      {
        'params.yaml': 'lr: 0.1\ngrp: {a: 1}\n',
        'config.yaml': 'model: {size: 3}\ndata: d.csv\nunused: 1\n',
        'extra.json': '{"flag": true}',
        'sub/local.yaml': 'local: L\n',
      },
    )
    expect(p.stages[0].cmd).toEqual(['train 3 d.csv exp1 1 2 true L 1 0.1'])
  })

  it('refuses to redefine a value, and names the sources', () => {
    expect(errorOf('vars:\n  - grp: {a: 7}\nstages: {}\n', {'params.yaml': 'grp: {a: 1}\n'})).toBe(
      'dv.yaml:2: "vars": cannot redefine "grp.a" from vars[0]: it is already defined in params.yaml',
    )
    expect(errorOf('vars:\n  - missing.yaml\nstages: {}\n')).toBe('dv.yaml:2: "vars": params file "missing.yaml" does not exist')
    expect(errorOf('vars:\n  - config.yaml:nope\nstages: {}\n', {'config.yaml': 'a: 1\n'})).toBe('dv.yaml:2: "vars": could not find "nope" in config.yaml')
    expect(errorOf('vars:\n  - \${x}.yaml\nstages: {}\n')).toBe('dv.yaml:2: "vars" cannot use ${} interpolation')
    expect(errorOf('stages:\n  t:\n    foreach: [a]\n    do:\n      vars: [{item: 1}]\n      cmd: x\n')).toBe(
      'dv.yaml:5: stage "t@a": "vars": cannot redefine reserved "item" from t@a.vars[0]',
    )
  })

  it('keeps the type of a value that is exactly ${x}, and prints values as Python does', () => {
    const s = stage(
      `stages:
  t:
    cmd:
      - run --lr \${lr} --one \${one} --big \${big} --n \${n} --on \${on} --none \${nothing}
      - \${n}
    frozen: \${on}
    always_changed: \${off}
    gpus: \${n}
    desc: \${lr}
    deps:
      - \${n}
`,
      {'params.yaml': 'lr: 1e-5\none: 1.0\nbig: 1.5e16\nn: 2\non: true\noff: false\nnothing: null\n'},
    )
    expect(s.cmd).toEqual(['run --lr 1e-05 --one 1.0 --big 1.5e+16 --n 2 --on true --none None', '2'])
    expect(s.frozen).toBe(true)
    expect(s.alwaysChanged).toBe(false)
    expect(s.gpus).toBe(2)
    expect(s.desc).toBe('1e-05')
    expect(s.deps).toEqual(['2'])
    expect([0.1, 100.0, 1e-4, 1.5e-7, 123456789012345680000, -2.5, 0].map(pyFloat)).toEqual(['0.1', '100.0', '0.0001', '1.5e-07', '1.2345678901234568e+20', '-2.5', '0.0'])
  })

  it('unpacks a mapping inside cmd into options, as DVC documents', () => {
    const files = {'params.yaml': "mydict:\n  foo: foo\n  bar: 1\n  bool: true\n  off: false\n  nested:\n    baz: bar\n  list: [2, 3, 'qux']\n  text: a b\n"}
    const yaml = 'stages:\n  train:\n    cmd: R train.r ${mydict}\n  whole:\n    cmd: ${mydict}\n'
    const [train, whole] = load(yaml, files).stages
    const expected = "R train.r --foo foo --bar 1 --bool --nested.baz bar --list 2 3 qux --text 'a b'"
    expect(train.cmd).toEqual([expected])
    expect(whole.cmd).toEqual([expected.slice('R train.r '.length)])
    const root = repoWith({'dv.yaml': yaml, ...files})
    const other = loadPipeline(root, {parsing: {bool: 'boolean_optional', list: 'append'}})!
    expect(other.stages[0].cmd).toEqual(["R train.r --foo foo --bar 1 --bool --no-off --nested.baz bar --list 2 --list 3 --list qux --text 'a b'"])
  })

  it('leaves an escaped \\${ alone and interpolates mapping keys', () => {
    const s = stage('vars:\n  - f: m.pkl\nstages:\n  t:\n    cmd: echo \\${HOME} ${f}\n    outs:\n      - ${f}:\n          cache: false\n')
    expect(s.cmd).toEqual(['echo ${HOME} m.pkl'])
    expect(s.outs).toEqual([out('m.pkl', {cache: false})])
  })
})

describe('validation errors name the file, the line and the key', () => {
  const cases: Array<[string, string, Record<string, string>?]> = [
    ['stages:\n  train:\n    cmd: python train.py\n    deps: [a]\n    outs: [b]\n    cmdd: x\n', 'dv.yaml:6: stage "train": unknown key "cmdd"'],
    ['stages:\n  train:\n    deps: [a]\n', 'dv.yaml:2: stage "train": "cmd" is required'],
    ['stages:\n  train:\n    cmd: {a: 1}\n', 'dv.yaml:3: stage "train": "cmd" must be a string or a list of strings, got a mapping'],
    ['stages:\n  train:\n    cmd: 5\n', 'dv.yaml:3: stage "train": "cmd" must be a string or a list of strings, got a number'],
    ['stages:\n  train:\n    cmd:\n      - a\n      - [b]\n', 'dv.yaml:5: stage "train": "cmd" must be a string or a list of strings, got a list in the list'],
    ['stages:\n  train:\n    cmd: x\n    gpus: -1\n', 'dv.yaml:4: stage "train": "gpus" must be a non-negative integer, got -1'],
    ['stages:\n  train:\n    cmd: x\n    gpus: 1.5\n', 'dv.yaml:4: stage "train": "gpus" must be a non-negative integer, got 1.5'],
    ['stages:\n  train:\n    cmd: x\n    gpus: two\n', 'dv.yaml:4: stage "train": "gpus" must be a non-negative integer, got "two"'],
    ['stages:\n  train:\n    cmd: x\n    outs:\n      - a\n      - [b, c]\n', 'dv.yaml:6: stage "train": "outs" item must be a path or {path: {options}}, got a list'],
    ['stages:\n  train:\n    cmd: x\n    outs:\n      - m.pkl:\n          cachee: false\n', 'dv.yaml:6: stage "train": "outs" path "m.pkl": unknown key "cachee"'],
    ['stages:\n  train:\n    cmd: x\n    metrics:\n      - m.json:\n          cache: no\n', 'dv.yaml:6: stage "train": "metrics" path "m.json": "cache" must be true or false, got a string'],
    ['stages:\n  train:\n    cmd: x\n    outs: model.pkl\n', 'dv.yaml:4: stage "train": "outs" must be a list, got a string'],
    ['stages:\n  train:\n    cmd: x\n    deps:\n      - {a: 1}\n', 'dv.yaml:5: stage "train": "deps" item must be a path, got a mapping'],
    ['stages:\n  train:\n    cmd: x\n    frozen: yes\n', 'dv.yaml:4: stage "train": "frozen" must be true or false, got a string'],
    ['stages:\n  train:\n    cmd: x\n    params:\n      - p.yaml: lr\n', 'dv.yaml:5: stage "train": "params" file "p.yaml" must map to a list of keys (or nothing, for every key), got a string'],
    ['stages:\n  train:\n    cmd: x\n    params:\n      - p.toml: [lr]\n', 'dv.yaml:5: stage "train": "params": p.toml: unsupported params file type ".toml" (dv reads .yaml, .yml and .json)'],
    ['stages:\n  train:\n    cmd: python train.py ${foo.bar}\n', 'dv.yaml:3: stage "train": ${foo.bar} in "cmd" is not defined'],
    ['stages:\n  train:\n    cmd: x\n    outs:\n      - a\n      - ${nope}/b\n', 'dv.yaml:6: stage "train": ${nope} in "outs" is not defined'],
    ['stages:\n  train:\n    cmd: echo ${a..b}\n', 'dv.yaml:3: stage "train": invalid expression ${a..b} in "cmd"'],
    ['stages:\n  train:\n    cmd: x\n    deps:\n      - ok\n      - ../outside.csv\n', 'dv.yaml:6: stage "train": "deps" path "../outside.csv" is outside the repository'],
    ['stages:\n  train:\n    cmd: x\n    outs: [/etc/out]\n', 'dv.yaml:4: stage "train": "outs" path "/etc/out" is absolute; use a path relative to the repository'],
    ['stages:\n  train:\n    cmd: x\n    deps: [s3://bucket/key]\n', 'dv.yaml:4: stage "train": "deps" path "s3://bucket/key" is a URL; dv pipelines use paths inside the repository'],
    ['stages:\n  train:\n    wdir: sub\n    cmd: x\n    outs: [../../up]\n', 'dv.yaml:5: stage "train": "outs" path "../../up" is outside the repository'],
    ['stages:\n  train:\n    wdir: ../elsewhere\n    cmd: x\n', 'dv.yaml:3: stage "train": "wdir" "../elsewhere" is outside the repository'],
    ['stages:\n  train:\n    cmd: x\n    params:\n      - ../p.yaml: [a]\n', 'dv.yaml:5: stage "train": "params" file "../p.yaml" is outside the repository'],
    ['stages:\n  train:\n    wdir: sub\n    vars: [../../x.yaml]\n    cmd: x\n', 'dv.yaml:4: stage "train": "vars" file "../../x.yaml" is outside the repository'],
    ['vars:\n  - a.yaml\n  - a.yaml:k\nstages: {}\n', 'dv.yaml:3: "vars": cannot load "a.yaml:k": a.yaml is already loaded', {'a.yaml': 'k: 1\n'}],
    ['metrics:\n  - ../m.json\nstages: {}\n', 'dv.yaml:2: "metrics" path "../m.json" is outside the repository'],
    ['stages:\n  train:\n    cmd: x\n    deps:\n      - ${d}\n', 'dv.yaml:5: stage "train": ${d} in "deps" is a mapping, which cannot be interpolated; only "cmd" unpacks a mapping', {'params.yaml': 'd: {a: 1}\n'}],
    ['stages:\n  train:\n    cmd: x ${l}\n', 'dv.yaml:3: stage "train": ${l} in "cmd" is a list, which cannot be interpolated', {'params.yaml': 'l: [1, 2]\n'}],
    ['stages:\n  train:\n    foreach: ${n}\n    do:\n      cmd: x\n', 'dv.yaml:3: stage "train": "foreach" must be a list or a mapping, got a number', {'params.yaml': 'n: 3\n'}],
    ['stages:\n  train:\n    foreach: [a]\n    cmd: x\n', 'dv.yaml:4: stage "train": unknown key "cmd" (a foreach stage has only "foreach" and "do")'],
    ['stages:\n  train:\n    foreach: [a]\n    do:\n      cmd: x\n      oouts: [y]\n', 'dv.yaml:6: stage "train": unknown key "oouts"'],
    ['stages:\n  train:\n    foreach: [a, b]\n    do:\n      cmd: x ${item.z}\n', 'dv.yaml:5: stage "train@a": ${item.z} in "cmd" is not defined'],
    ['stages:\n  train:\n    matrix:\n      os: linux\n    cmd: x\n', 'dv.yaml:4: stage "train": "matrix" "os" must be a list, got a string'],
    ['stages:\n  a@b:\n    cmd: x\n  a:\n    foreach: [b]\n    do:\n      cmd: y\n', 'dv.yaml:4: stage "a@b" is defined twice (by "a@b" and "a")'],
    ['stages:\n  train:\n    cmd: x\n    outs: [m, ./m/]\n', 'dv.yaml:4: stage "train": "m" is listed as an output twice'],
    ['stages:\n  train: echo\n', 'dv.yaml:2: stage "train": the definition must be a mapping, got a string'],
    ['stages: [a]\n', 'dv.yaml:1: "stages" must be a mapping of stage names to definitions, got a list'],
    ['stages: {}\nstagse: {}\n', 'dv.yaml:2: unknown top-level key "stagse"'],
    ['stages:\n  train:\n    cmd: [unclosed\n', 'dv.yaml:4: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]'],
  ]
  for (const [yaml, message, files] of cases) {
    it(message, () => {
      expect(errorOf(yaml, files)).toBe(message)
    })
  }

  it('reports a broken params.yaml by its own name and line', () => {
    expect(errorOf('stages: {}\n', {'params.yaml': 'a: 1\nb: [\n'})).toMatch(/^params\.yaml:\d+: invalid YAML: /)
  })
})

describe('params files', () => {
  it('reads YAML, YML and JSON, and refuses other types clearly', () => {
    const root = repoWith({
      'params.yaml': 'train:\n  lr: 0.01\n  layers: [64, 32]\n',
      'p.yml': 'a: 1\n',
      'p.json': '{\n\t"b": {"c": [1, {"d": true}]}\n}\n',
      'p.toml': 'a = 1\n',
      'empty.yaml': '',
      'list.yaml': '- 1\n',
    })
    expect(readParams(root, 'params.yaml')).toEqual({train: {lr: 0.01, layers: [64, 32]}})
    expect(readParams(root, 'p.yml')).toEqual({a: 1})
    expect(readParams(root, 'p.json')).toEqual({b: {c: [1, {d: true}]}})
    expect(readParams(root, 'p.json', {intsAsBigInt: true})).toEqual({b: {c: [1n, {d: true}]}})
    expect(readParams(root, 'empty.yaml')).toEqual({})
    expect(() => readParams(root, 'p.toml')).toThrow('p.toml: unsupported params file type ".toml" (dv reads .yaml, .yml and .json)')
    expect(() => paramsFileType('params.py')).toThrow(/unsupported params file type/)
    expect(() => readParams(root, 'missing.yaml')).toThrow('missing.yaml: no such file or directory')
    expect(() => readParams(root, 'list.yaml')).toThrow('list.yaml: expected a mapping of parameters at the top level, got a list')
    expect(() => parseParams('a: [', 'bad.yaml')).toThrow(/^bad\.yaml:1: invalid YAML: /)
  })

  it('looks up dotted keys and list indices, and names file and key when one is missing', () => {
    const data = parseParams('train:\n  lr: 0.01\n  layers: [64, {units: 32}]\nflag: false\n', 'params.yaml')
    expect(paramValue(data, 'train.lr')).toBe(0.01)
    expect(paramValue(data, 'train.layers.0')).toBe(64)
    expect(paramValue(data, 'train.layers.1.units')).toBe(32)
    expect(paramValue(data, 'train.layers[1].units')).toBe(32)
    expect(paramValue(data, 'flag')).toBe(false)
    expect(paramValue(data, 'train')).toEqual({lr: 0.01, layers: [64, {units: 32}]})
    expect(lookupParam(data, 'train.layers.2')).toEqual({found: false})
    expect(lookupParam(data, 'train.lr.x')).toEqual({found: false})
    expect(selectParams(data, ['train.lr', 'flag'])).toEqual({'train.lr': 0.01, flag: false})
    expect(selectParams(data, [])).toBe(data)
    let error: unknown
    try {
      paramValue(data, 'train.momentum', 'conf/params.yaml')
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(DvError)
    expect((error as DvError).code).toBe('EPARAM')
    expect((error as Error).message).toBe('parameter "train.momentum" not found in conf/params.yaml')
  })
})
