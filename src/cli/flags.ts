/** Flags and arguments several commands share, declared once. */
import {Args, Flags} from '@oclif/core'

/** Optional pointer files or tracked paths; all of them when none is given. */
export const targetsArg = {
  targets: Args.string({ignoreStdin: true, description: 'Pointer files or tracked paths (default: all).'}),
}

/** Which remote, and how many transfers at once. */
export const transferFlags = {
  remote: Flags.string({char: 'r', description: 'Remote to use (default: core.remote).'}),
  jobs: Flags.integer({char: 'j', description: 'Transfers in flight at once.', min: 1}),
}

/** The run-cache too (push, fetch, pull). */
export const runCacheFlag = {
  'run-cache': Flags.boolean({description: "Also the run-cache: records of earlier stage runs and the outputs they name, so another clone's dv repro restores them instead of running."}),
}

/** Revisions whose data a command also covers (gc keeps it; push and fetch move it). */
export const revisionFlags = {
  'all-branches': Flags.boolean({char: 'a', description: 'Also the data of every branch.'}),
  'all-tags': Flags.boolean({char: 'T', description: 'Also the data of every tag.'}),
  'all-commits': Flags.boolean({char: 'A', description: 'Also the data of every commit.'}),
  rev: Flags.string({description: 'Also the data of this revision (repeatable).', multiple: true}),
}

export function revisionSelection(flags: {'all-branches'?: boolean; 'all-tags'?: boolean; 'all-commits'?: boolean; rev?: string[]}) {
  return {allBranches: flags['all-branches'], allTags: flags['all-tags'], allCommits: flags['all-commits'], revs: flags.rev}
}

/** How a table of metrics or params is printed. */
export const tableFlags = {
  json: Flags.boolean({description: 'Print JSON.', exclusive: ['md', 'csv']}),
  md: Flags.boolean({description: 'Print a Markdown table (for a pull request comment).', exclusive: ['json', 'csv']}),
  csv: Flags.boolean({description: 'Print CSV.', exclusive: ['json', 'md']}),
  precision: Flags.integer({description: 'Decimals shown for numbers (default 5).', min: 0, max: 20}),
}

export function tableFormat(flags: {md?: boolean; csv?: boolean}): 'text' | 'md' | 'csv' {
  return flags.md ? 'md' : flags.csv ? 'csv' : 'text'
}

/** For commands that hold the repository's write lock (DvCommand.locksRepository). */
export const lockFlags = {
  wait: Flags.boolean({description: 'If another dv process is changing this repository, wait for it instead of failing.'}),
}
