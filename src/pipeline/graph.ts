/**
 * The stage graph: an edge from A to B when B depends on a path A produces (the path itself, one
 * inside it, or a directory holding it). Rejects cycles, two stages writing one output, and an
 * output inside another stage's output, each with a one-line error naming the stages.
 */
import {DvError} from '../errors.js'
import type {StageDef} from './schema.js'

export interface Graph {
  stages: Map<string, StageDef>
  /** Stages each stage depends on. */
  upstream: Map<string, Set<string>>
  /** Stages that depend on each stage. */
  downstream: Map<string, Set<string>>
  /** Every stage, upstream before downstream (ties in file order). */
  order: string[]
}

/** `a` is `b` or lies inside it. */
export const within = (a: string, b: string) => a === b || b === '.' || a.startsWith(b + '/')
const overlaps = (a: string, b: string) => within(a, b) || within(b, a)

export function buildGraph(stages: readonly StageDef[]): Graph {
  const byName = new Map(stages.map((s) => [s.name, s]))
  const outs = stages.flatMap((s) => s.outs.map((o) => ({stage: s.name, path: o.path})))
  for (let i = 0; i < outs.length; i++) {
    for (let j = i + 1; j < outs.length; j++) {
      const [a, b] = [outs[i], outs[j]]
      if (a.path === b.path) throw new DvError('EPIPELINE', `output ${a.path} is produced by two stages: ${a.stage} and ${b.stage}`)
      if (overlaps(a.path, b.path)) {
        const [inner, outer] = within(a.path, b.path) ? [a, b] : [b, a]
        throw new DvError('EPIPELINE', `output ${inner.path} of stage ${inner.stage} is inside output ${outer.path} of stage ${outer.stage}`)
      }
    }
  }
  const upstream = new Map(stages.map((s) => [s.name, new Set<string>()]))
  const downstream = new Map(stages.map((s) => [s.name, new Set<string>()]))
  for (const s of stages) {
    for (const dep of s.deps) {
      for (const o of outs) {
        if (o.stage === s.name || !overlaps(dep, o.path)) continue
        upstream.get(s.name)!.add(o.stage)
        downstream.get(o.stage)!.add(s.name)
      }
    }
  }
  // Kahn's algorithm, taking ready stages in file order; what is left over lies on a cycle.
  const indegree = new Map([...upstream].map(([n, ups]) => [n, ups.size]))
  const order: string[] = []
  const ready = stages.filter((s) => indegree.get(s.name) === 0).map((s) => s.name)
  while (ready.length > 0) {
    const n = ready.shift()!
    order.push(n)
    for (const d of downstream.get(n)!) {
      indegree.set(d, indegree.get(d)! - 1)
      if (indegree.get(d) === 0) ready.push(d)
    }
  }
  if (order.length < stages.length) {
    const left = new Set(stages.map((s) => s.name).filter((n) => !order.includes(n)))
    // Walk upstream from any leftover stage until a stage repeats: that loop is the cycle.
    const path: string[] = []
    let at = [...left][0]
    while (!path.includes(at)) {
      path.push(at)
      at = [...upstream.get(at)!].find((u) => left.has(u))!
    }
    const loop = path.slice(path.indexOf(at)).reverse() // in the direction data flows
    const first = loop.indexOf(stages.find((s) => loop.includes(s.name))!.name) // start at the earliest in the file
    const cycle = [...loop.slice(first), ...loop.slice(0, first)]
    throw new DvError('EPIPELINE', `the pipeline has a cycle: ${[...cycle, cycle[0]].join(' -> ')}`)
  }
  return {stages: byName, upstream, downstream, order}
}

/** The stages `names` and everything upstream of them (or downstream, with `down`), in graph order. */
export function closure(g: Graph, names: readonly string[], down = false): string[] {
  const edges = down ? g.downstream : g.upstream
  const seen = new Set<string>()
  const visit = (n: string) => {
    if (seen.has(n)) return
    seen.add(n)
    for (const m of edges.get(n)!) visit(m)
  }
  names.forEach(visit)
  return g.order.filter((n) => seen.has(n))
}
