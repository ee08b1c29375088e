import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {buildGraph, closure} from '../pipeline/graph.js'
import {Repo} from '../repo/repo.js'
import {requirePipeline, selectStages} from '../repo/repro.js'

export default class Dag extends DvCommand {
  static override summary = 'Show the pipeline as a graph.'
  static override description = 'Lists the stages of dv.yaml in the order they run, each with the stages it depends on; or the graph as Mermaid, Graphviz dot or JSON. A target narrows it to that stage and what is upstream.'
  static override examples = ['<%= config.bin %> dag', '<%= config.bin %> dag --mermaid > pipeline.md', '<%= config.bin %> dag --dot | dot -Tsvg > dag.svg']
  static override args = {
    target: Args.string({ignoreStdin: true, description: 'A stage: show it and what it depends on.'}),
  }
  static override flags = {
    mermaid: Flags.boolean({description: 'Mermaid flowchart.', exclusive: ['dot', 'json']}),
    dot: Flags.boolean({description: 'Graphviz dot.', exclusive: ['mermaid', 'json']}),
    json: Flags.boolean({description: 'JSON: {stages, edges}.', exclusive: ['mermaid', 'dot']}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Dag)
    const repo = Repo.open(process.cwd())
    const pipeline = requirePipeline(repo.root)
    const g = buildGraph(pipeline.stages)
    const names = args.target ? closure(g, selectStages(g, [args.target], pipeline.file)) : g.order
    const edges = names.flatMap((n) => [...g.upstream.get(n)!].filter((u) => names.includes(u)).map((u) => [u, n] as const))
    if (flags.json) return this.printJson({stages: names, edges: edges.map(([from, to]) => ({from, to}))})
    const id = (n: string) => `s${names.indexOf(n)}`
    if (flags.mermaid) {
      this.say('flowchart TD')
      for (const n of names) this.say(`  ${id(n)}["${n}"]`)
      for (const [from, to] of edges) this.say(`  ${id(from)} --> ${id(to)}`)
      return
    }
    if (flags.dot) {
      this.say('digraph pipeline {')
      for (const n of names) this.say(`  "${n}";`)
      for (const [from, to] of edges) this.say(`  "${from}" -> "${to}";`)
      this.say('}')
      return
    }
    for (const n of names) {
      const ups = [...g.upstream.get(n)!].filter((u) => names.includes(u))
      this.say(ups.length > 0 ? `${n} <- ${ups.join(', ')}` : n)
    }
  }
}
