/**
 * `dv stage add`: writes a stage into dv.yaml, keeping the rest of the file (comments included)
 * as it was. The file is checked as a whole afterwards (cycles, overlapping outputs), and left
 * untouched when that fails.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {parseDocument, YAMLMap} from 'yaml'

import {DvError, InvalidFileError} from '../errors.js'
import {writeFileAtomic} from '../util/atomic.js'
import {buildGraph} from './graph.js'
import {loadPipeline, PIPELINE_FILES} from './schema.js'

export interface StageSpec {
  name: string
  cmd: string
  deps?: string[]
  outs?: string[]
  outsNoCache?: string[]
  persist?: string[]
  params?: string[]
  metrics?: string[]
  metricsNoCache?: string[]
  plots?: string[]
  wdir?: string
  gpus?: number
  alwaysChanged?: boolean
  desc?: string
  force?: boolean
}

/** `-p a,b` and `-p file.yaml:a,b` as dv.yaml writes them. */
function paramsEntries(specs: string[]): unknown[] {
  const entries: unknown[] = []
  for (const spec of specs) {
    const colon = spec.lastIndexOf(':')
    if (colon > 0) entries.push({[spec.slice(0, colon)]: spec.slice(colon + 1).split(',').filter(Boolean)})
    else entries.push(...spec.split(',').filter(Boolean))
  }
  return entries
}

export function stageAdd(root: string, s: StageSpec): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(s.name)) throw new DvError('EUSAGE', `invalid stage name ${JSON.stringify(s.name)}: use letters, digits, '_', '-' and '.'`, 2)
  if (!s.cmd.trim()) throw new DvError('EUSAGE', 'no command given for the stage', 2)
  const file = PIPELINE_FILES.find((f) => existsSync(join(root, f))) ?? PIPELINE_FILES[0]
  const path = join(root, file)
  const before = existsSync(path) ? readFileSync(path, 'utf8') : ''
  const doc = parseDocument(before)
  if (doc.errors.length > 0) throw new InvalidFileError(file, `invalid YAML: ${doc.errors[0].message.split('\n')[0]}`)
  if (!doc.contents) doc.contents = doc.createNode({}) as never
  if (!doc.has('stages')) doc.set('stages', doc.createNode({}))
  const stages = doc.get('stages') as YAMLMap
  if (stages.has(s.name) && !s.force) throw new DvError('EEXIST', `stage ${s.name} already exists in ${file} (use --force to replace it)`)
  const outs = [...(s.outs ?? []).map((o) => (s.persist?.includes(o) ? {[o]: {persist: true}} : o)), ...(s.outsNoCache ?? []).map((o) => ({[o]: {cache: false}}))]
  const metrics = [...(s.metrics ?? []), ...(s.metricsNoCache ?? []).map((m) => ({[m]: {cache: false}}))]
  const stage: Record<string, unknown> = {
    ...(s.desc ? {desc: s.desc} : {}),
    cmd: s.cmd,
    ...(s.wdir && s.wdir !== '.' ? {wdir: s.wdir} : {}),
    ...(s.deps?.length ? {deps: s.deps} : {}),
    ...(s.params?.length ? {params: paramsEntries(s.params)} : {}),
    ...(outs.length ? {outs} : {}),
    ...(metrics.length ? {metrics} : {}),
    ...(s.plots?.length ? {plots: s.plots} : {}),
    ...(s.gpus ? {gpus: s.gpus} : {}),
    ...(s.alwaysChanged ? {always_changed: true} : {}),
  }
  stages.set(s.name, doc.createNode(stage))
  writeFileAtomic(path, doc.toString({lineWidth: 0}))
  try {
    const p = loadPipeline(root)
    if (p) buildGraph(p.stages)
  } catch (error) {
    writeFileAtomic(path, before) // the file is left as it was
    throw error
  }
  return file
}
