/**
 * `dv plots show` and `dv plots diff`: the plots dv.yaml declares (or the files named), read at
 * every revision drawn (the workspace, git, or the cache through that revision's dv.lock and
 * pointers; src/metrics/files.ts), each plot one chart with all its revisions in it.
 *
 * A plot may exist only in some revisions, so each revision's pipeline contributes its plots;
 * where two revisions define the same plot, the newest definition wins: the workspace, then
 * commits by date. A plot whose path is a directory is one plot per file in it.
 */
import {readFileSync} from 'node:fs'

import {PathNotFoundError} from '../errors.js'
import {VersionedFiles, type Rev} from '../metrics/files.js'
import {plotDefinitions, type PlotDef} from '../pipeline/schema.js'
import {fileAt, imageType, isPlotFile, parsePlotData, PlotError} from '../plots/data.js'
import {plotSpec, templateOf, type Source, type Template, type VegaLiteSpec} from '../plots/specs.js'
import type {GitObjects} from '../scm/objects.js'
import {label} from './metrics.js'

interface PlotBase {
  id: string
  title: string
  /** The revisions drawn, in order. */
  revisions: string[]
  /** Revisions without the plot's file (`rev (path)` when only one of its several files is missing). */
  missing: string[]
}

export interface ChartPlot extends PlotBase {
  type: 'chart'
  template: Template
  /** Vega-Lite, the data embedded. */
  spec: VegaLiteSpec
}

export interface ImagePlot extends PlotBase {
  type: 'image'
  /** One per revision that has the image; `src` is a `data:` URI. */
  images: Array<{rev: string; path: string; src: string}>
}

export type Plot = ChartPlot | ImagePlot

export interface Plots {
  /** Every revision drawn, in order, by name (`workspace` for the workspace). */
  revisions: string[]
  plots: Plot[]
}

export interface PlotsOptions {
  /** Plot ids or paths (relative to `cwd`); default: every plot the pipelines declare. */
  targets?: readonly string[]
  cwd?: string
}

/**
 * The plots of `revs` (undefined: the workspace), in that order. Throws a PlotError when there
 * is nothing to draw or a plot's files are in none of the revisions.
 */
export async function collectPlots(revs: readonly Rev[], options: PlotsOptions = {}): Promise<Plots> {
  const cwd = options.cwd ?? process.cwd()
  return VersionedFiles.with(cwd, async (repo, files, objects) => {
    const drawn = unique(revs)
    const newestFirst = await byAge(objects, drawn)
    const defs = await definitions(files, newestFirst)
    const targets = (options.targets ?? []).map((t) => ({raw: t, path: repo.resolvePath(t, cwd)}))
    const chosen = targets.length > 0 ? select(defs, targets) : defs
    if (chosen.length === 0) {
      throw new PlotError(`nothing to draw: no plots in dv.yaml (${drawn.map(label).join(', ')}); declare some under "plots", or name the files to draw`)
    }
    const reader = new Reader(files)
    const plots: Plot[] = []
    const revisions = drawn.map(label)
    for (const def of chosen) for (const one of await expand(def, drawn, reader)) plots.push(await draw(one, drawn, reader, revisions))
    return {revisions, plots}
  })
}

/** A revision as a user names it: `workspace` is the workspace (as in `dvc plots diff`), anything else a git revision. */
export const revisionNamed = (name: string): Rev => (name === 'workspace' ? undefined : name)

/** Revisions once each, by name (`dv plots diff HEAD HEAD` draws HEAD once). */
function unique(revs: readonly Rev[]): Rev[] {
  const seen = new Set<string>()
  return revs.filter((r) => !seen.has(label(r)) && Boolean(seen.add(label(r))))
}

/** The workspace first, then commits newest first (by committer date); an unknown revision is an error. */
async function byAge(objects: GitObjects, revs: readonly Rev[]): Promise<Rev[]> {
  const dated: Array<{rev: Rev; time: number; order: number}> = []
  for (const [order, rev] of revs.entries()) {
    if (rev === undefined) {
      dated.push({rev, time: Infinity, order})
      continue
    }
    const commit = await objects.read(`${await objects.commitOf(rev)}`)
    const time = Number(/^committer .* (\d+) [+-]\d{4}$/m.exec(commit?.data.toString('utf8') ?? '')?.[1] ?? 0)
    dated.push({rev, time, order})
  }
  // Same date: the revision given later is taken as the newer (`dv plots diff old new`).
  return dated.sort((a, b) => b.time - a.time || b.order - a.order).map((d) => d.rev)
}

/** Every plot the revisions' pipelines declare, by id; the first (newest) definition of an id wins. */
async function definitions(files: VersionedFiles, newestFirst: readonly Rev[]): Promise<PlotDef[]> {
  const byId = new Map<string, PlotDef>()
  for (const rev of newestFirst) {
    const pipeline = await files.pipeline(rev)
    for (const def of pipeline ? plotDefinitions(pipeline) : []) if (!byId.has(def.id)) byId.set(def.id, def)
  }
  return [...byId.values()]
}

/**
 * The plots the targets name: by id, by a file's path, or by a directory holding their files. A
 * file inside a plot's directory is drawn with that plot's options; a target that names none is
 * drawn as a file with the defaults, as DVC does.
 */
function select(defs: readonly PlotDef[], targets: ReadonlyArray<{raw: string; path: string}>): PlotDef[] {
  const out = new Map<string, PlotDef>()
  for (const t of targets) {
    const under = (p: string, dir: string) => dir === '' || p === dir || p.startsWith(`${dir}/`)
    const named = defs.filter((d) => d.id === t.raw || d.id === t.path || d.files.some((f) => under(f.path, t.path)))
    if (named.length === 0) {
      const dir = defs.find((d) => d.files.length === 1 && under(t.path, d.files[0].path))
      const {title: _title, ...options} = dir ?? {id: t.path, files: []}
      named.push({...options, id: t.path, files: [{...(dir?.files[0] ?? {y: []}), path: t.path}]})
    }
    for (const d of named) if (!out.has(d.id)) out.set(d.id, d)
  }
  return [...out.values()]
}

/** Reads files of revisions, keeping the bytes of files found inside directories (which `read` does not reach). */
class Reader {
  private readonly listed = new Map<string, Buffer>()

  constructor(private readonly files: VersionedFiles) {}

  private key(rev: Rev, path: string): string {
    return `${label(rev)}\0${path}`
  }

  async read(rev: Rev, path: string): Promise<Buffer | undefined> {
    return this.listed.get(this.key(rev, path)) ?? (await this.files.read(rev, path))
  }

  /** The plot files under the directory `path` at `rev`; none when there is no such directory. */
  async under(rev: Rev, path: string): Promise<string[]> {
    let found
    try {
      found = await this.files.files(rev, path)
    } catch (error) {
      if (error instanceof PathNotFoundError) return []
      throw error
    }
    const paths: string[] = []
    for (const f of found) {
      // `path` itself is among them when it is a file inside a cached directory.
      if (!isPlotFile(f.path)) continue
      this.listed.set(this.key(rev, f.path), readFileSync(f.file))
      paths.push(f.path)
    }
    return paths
  }
}

/** A plot of one path that is a directory (in any revision) is one plot per file in it. */
async function expand(def: PlotDef, revs: readonly Rev[], reader: Reader): Promise<PlotDef[]> {
  if (def.files.length !== 1) return [def]
  const [file] = def.files
  const inside = new Set<string>()
  for (const rev of revs) {
    if (await reader.read(rev, file.path)) continue
    for (const p of await reader.under(rev, file.path)) inside.add(p)
  }
  if (inside.size === 0) return [def]
  const {title: _title, ...options} = def // a title names the whole directory, not each file
  return [...inside].sort().map((path) => ({...options, id: path, files: [{...file, path}]}))
}

async function draw(def: PlotDef, revs: readonly Rev[], reader: Reader, revisions: string[]): Promise<Plot> {
  const images = def.files.filter((f) => imageType(f.path) !== undefined)
  if (images.length === 0) return drawChart(def, revs, reader, revisions)
  if (def.files.length > 1) {
    throw new PlotError(`plot "${def.id}": an image is a plot of its own, not one of several files (${def.files.map((f) => f.path).join(', ')})`)
  }
  return drawImage(def, revs, reader)
}

async function drawImage(def: PlotDef, revs: readonly Rev[], reader: Reader): Promise<ImagePlot> {
  const [{path}] = def.files
  const plot: ImagePlot = {type: 'image', id: def.id, title: def.title ?? def.id, revisions: [], missing: [], images: []}
  for (const rev of revs) {
    const bytes = await reader.read(rev, path)
    if (!bytes) {
      plot.missing.push(label(rev))
      continue
    }
    plot.revisions.push(label(rev))
    plot.images.push({rev: label(rev), path, src: `data:${imageType(path)};base64,${bytes.toString('base64')}`})
  }
  if (plot.images.length === 0) throw notFound(def, revs)
  return plot
}

async function drawChart(def: PlotDef, revs: readonly Rev[], reader: Reader, revisions: string[]): Promise<ChartPlot> {
  const template = templateOf(def.template, def.id)
  const sources: Source[] = []
  const found: string[] = []
  const missing: string[] = []
  for (const rev of revs) {
    const lost: string[] = []
    for (const f of def.files) {
      const bytes = await reader.read(rev, f.path)
      if (!bytes) {
        lost.push(f.path)
        continue
      }
      const rows = parsePlotData(bytes, f.path, fileAt(label(rev), f.path), [...f.y, ...(f.x === undefined ? [] : [f.x])])
      sources.push({rev: label(rev), path: f.path, rows, y: f.y, ...(f.x === undefined ? {} : {x: f.x})})
    }
    if (lost.length === def.files.length) missing.push(label(rev))
    else {
      found.push(label(rev))
      missing.push(...lost.map((p) => `${label(rev)} (${p})`))
    }
  }
  if (sources.length === 0) throw notFound(def, revs)
  const spec = plotSpec({id: def.id, template, title: def.title, xLabel: def.xLabel, yLabel: def.yLabel, sources, revisions})
  return {type: 'chart', id: def.id, title: def.title ?? def.id, template, revisions: found, missing, spec}
}

function notFound(def: PlotDef, revs: readonly Rev[]): PlotError {
  const paths = def.files.map((f) => f.path).join(', ')
  const where = revs.length === 1 && revs[0] === undefined ? 'the workspace' : revs.map(label).join(', ')
  return new PlotError(`plot "${def.id}": ${paths} not found in ${where}`)
}
