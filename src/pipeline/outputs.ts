/**
 * The paths a pipeline's stages produce, read from `dv.yaml` (or `dvc.yaml`), so that `dv add`
 * refuses to track a stage's output by hand. Reads only `stages.<name>.outs|metrics|plots` and
 * `wdir`; the full pipeline parser builds on the same file later.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join, posix} from 'node:path'

import {parseYaml} from '../models/yaml.js'

export const PIPELINE_FILES = ['dv.yaml', 'dvc.yaml']

export interface StageOutput {
  stage: string
  /** Relative to the repository root. */
  path: string
}

export function stageOutputs(root: string): StageOutput[] {
  const file = PIPELINE_FILES.find((f) => existsSync(join(root, f)))
  if (!file) return []
  const doc = parseYaml(readFileSync(join(root, file), 'utf8'), file)
  const stages = (doc as {stages?: Record<string, unknown>} | null)?.stages
  if (!stages || typeof stages !== 'object') return []
  const out: StageOutput[] = []
  for (const [stage, raw] of Object.entries(stages)) {
    const def = raw as {wdir?: unknown; outs?: unknown; metrics?: unknown; plots?: unknown} | null
    if (!def || typeof def !== 'object') continue
    const wdir = typeof def.wdir === 'string' ? def.wdir : '.'
    for (const list of [def.outs, def.metrics, def.plots]) {
      if (!Array.isArray(list)) continue
      for (const item of list) {
        const p = typeof item === 'string' ? item : item && typeof item === 'object' ? Object.keys(item)[0] : undefined
        if (typeof p === 'string' && !p.includes('${')) out.push({stage, path: posix.normalize(posix.join(wdir, p)).replace(/\/$/, '')})
      }
    }
  }
  return out
}
