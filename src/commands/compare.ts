import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {revisionFlags, revisionSelection, tableFlags, tableFormat} from '../cli/flags.js'
import {compareTable} from '../cli/compare-table.js'
import {compareInteractively} from '../cli/interactive.js'
import {renderTable} from '../metrics/table.js'
import {compare} from '../repo/compare.js'

export default class Compare extends DvCommand {
  static override summary = 'Compare revisions side by side: data versions, params and metrics.'
  static override description = `One row per revision (the workspace first; by default the current branch's history, newest first): the version of each tracked dataset and model (short digest, files, size; '*' where it changed from the older row), the params the pipeline uses, and the metrics. Revisions without metrics show as such. Columns are named data:<path>, param:<key> and metric:<key>; --columns keeps those matching any glob, --only-changed drops columns equal in every row, --sort-by orders the rows by a column.`
  static override examples = ['<%= config.bin %> compare', '<%= config.bin %> compare main v1.0 --md', "<%= config.bin %> compare --all-commits --columns 'metric:*' --sort-by metric:accuracy", '<%= config.bin %> compare --only-changed --csv', '<%= config.bin %> compare -i --all-commits']
  static override strict = false
  static override args = {
    revs: Args.string({ignoreStdin: true, description: 'Revisions to compare (default: the current branch, newest first).'}),
  }
  static override flags = {
    ...revisionFlags,
    'sort-by': Flags.string({description: 'Order the rows by this column (numbers high to low; text A to Z).'}),
    'sort-order': Flags.string({description: 'asc or desc (default: desc for numbers, asc for text).', options: ['asc', 'desc']}),
    'only-changed': Flags.boolean({description: 'Leave out columns whose value is the same in every row.'}),
    interactive: Flags.boolean({char: 'i', description: 'Browse the table in the terminal: arrow keys move, s sorts by the column under the cursor, c shows only changed columns, q quits.', exclusive: ['json', 'md', 'csv']}),
    columns: Flags.string({description: 'Keep only columns matching these globs (comma-separated or repeated), e.g. metric:*,data:images.', multiple: true, multipleNonGreedy: true}),
    ...tableFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Compare)
    const rows = await compare(argv as string[], revisionSelection(flags))
    const options = {columns: flags.columns, onlyChanged: flags['only-changed'], sortBy: flags['sort-by'], sortOrder: flags['sort-order'] as 'asc' | 'desc' | undefined, precision: flags.precision}
    const {columns, rows: indexed} = compareTable(rows, options)
    if (flags.interactive) return compareInteractively(rows, options)
    if (flags.json) {
      const keep = (prefix: string, obj: Record<string, unknown>) => Object.fromEntries(Object.entries(obj).filter(([k]) => columns.includes(`${prefix}:${k}`)))
      return this.printJson(indexed.map(({row: r}) => ({rev: r.rev, ...(r.commit ? {commit: r.commit} : {}), data: keep('data', r.data), params: keep('param', r.params), metrics: keep('metric', r.metrics), hasMetrics: r.hasMetrics})))
    }
    const header = ['Revision', ...columns]
    const body = indexed.map(({row, cells}) => [row.rev, ...columns.map((name) => cells.get(name) ?? '-')])
    process.stdout.write(renderTable(header, body, tableFormat(flags)))
  }
}
