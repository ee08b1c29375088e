import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {formatBytes} from '../cli/progress.js'
import {diff, WORKSPACE, type DiffEntry, type DiffResult} from '../repo/diff.js'

function sizeNote(kind: keyof Omit<DiffResult, 'a' | 'b'>, e: DiffEntry): string {
  switch (kind) {
    case 'added':
      return `+${formatBytes(e.newSize!)}`
    case 'deleted':
      return `-${formatBytes(e.oldSize!)}`
    case 'modified': {
      const delta = e.newSize! - e.oldSize!
      return `${formatBytes(e.oldSize!)} → ${formatBytes(e.newSize!)}, ${delta >= 0 ? '+' : '-'}${formatBytes(Math.abs(delta))}`
    }
    case 'renamed':
      return formatBytes(e.newSize!)
  }
}

const KINDS = ['added', 'modified', 'deleted', 'renamed'] as const

export default class Diff extends DvCommand {
  static override summary = 'Show files that changed in tracked data between two versions.'
  static override description = `Compares the tracked datasets of revision A with revision B (any git revision: a branch, a tag, HEAD~3, a short hash) or with the workspace. Default: HEAD against the workspace. Lists files added, modified, deleted and renamed (same content, new path) with sizes. Only folders whose tree ids differ are walked, so a one-file change in a large dataset is answered without listing the rest. The trees of both versions must be in the local cache.`
  static override examples = [
    '<%= config.bin %> diff',
    '<%= config.bin %> diff HEAD~1 HEAD',
    '<%= config.bin %> diff v1.0 main --targets data/images --md',
  ]
  static override args = {
    a: Args.string({ignoreStdin: true, description: 'The old revision.', default: 'HEAD'}),
    b: Args.string({ignoreStdin: true, description: `The new revision, or "${WORKSPACE}".`, default: WORKSPACE}),
  }
  static override flags = {
    targets: Flags.string({char: 't', description: 'Only these tracked paths (or paths inside them).', multiple: true}),
    json: Flags.boolean({description: 'Print the changes as JSON.', exclusive: ['md']}),
    md: Flags.boolean({description: 'Print a Markdown table (for a pull request comment).', exclusive: ['json']}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Diff)
    const r = await diff(args.a, args.b, flags.targets ?? [])
    if (flags.json) return this.printJson(r)
    const count = KINDS.reduce((n, k) => n + r[k].length, 0)
    if (flags.md) {
      this.say(`| change | path | size |\n| --- | --- | --- |`)
      for (const k of KINDS) for (const e of r[k]) this.say(`| ${k} | \`${k === 'renamed' ? `${e.from} → ${e.path}` : e.path}\` | ${sizeNote(k, e)} |`)
      if (count === 0) this.say(`| | no changes between ${r.a} and ${r.b} | |`)
      return
    }
    if (count === 0) {
      this.say(`No changes in tracked data between ${r.a} and ${r.b}.`)
      return
    }
    for (const k of KINDS) {
      for (const e of r[k]) this.say(`${(k + ':').padEnd(10)}${k === 'renamed' ? `${e.from} → ${e.path}` : e.path} (${sizeNote(k, e)})`)
    }
    this.say(`\n${KINDS.map((k) => `${r[k].length} ${k}`).join(', ')}`)
  }
}
