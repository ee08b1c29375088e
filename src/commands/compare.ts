import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {revisionFlags, revisionSelection, tableFlags, tableFormat} from '../cli/flags.js'
import {formatBytes} from '../cli/progress.js'
import {DvError} from '../errors.js'
import {renderTable} from '../metrics/table.js'
import {show} from '../metrics/values.js'
import {compare, type CompareRow} from '../repo/compare.js'

/** A glob over column names: `*` any run of characters, `?` one. */
const globRe = (g: string) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)

export default class Compare extends DvCommand {
  static override summary = 'Compare revisions side by side: data versions, params and metrics.'
  static override description = `One row per revision (the workspace first; by default the current branch's history, newest first): the version of each tracked dataset and model (short digest, files, size; '*' where it changed from the older row), the params the pipeline uses, and the metrics. Revisions without metrics show as such. Columns are named data:<path>, param:<key> and metric:<key>; --columns keeps those matching any glob, --only-changed drops columns equal in every row, --sort-by orders the rows by a column.`
  static override examples = ['<%= config.bin %> compare', '<%= config.bin %> compare main v1.0 --md', "<%= config.bin %> compare --all-commits --columns 'metric:*' --sort-by metric:accuracy", '<%= config.bin %> compare --only-changed --csv']
  static override strict = false
  static override args = {
    revs: Args.string({ignoreStdin: true, description: 'Revisions to compare (default: the current branch, newest first).'}),
  }
  static override flags = {
    ...revisionFlags,
    'sort-by': Flags.string({description: 'Order the rows by this column (numbers high to low; text A to Z).'}),
    'sort-order': Flags.string({description: 'asc or desc (default: desc for numbers, asc for text).', options: ['asc', 'desc']}),
    'only-changed': Flags.boolean({description: 'Leave out columns whose value is the same in every row.'}),
    columns: Flags.string({description: 'Keep only columns matching these globs (comma-separated or repeated), e.g. metric:*,data:images.', multiple: true, multipleNonGreedy: true}),
    ...tableFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Compare)
    const rows = await compare(argv as string[], revisionSelection(flags))
    const precision = flags.precision ?? 5
    const cells = rows.map((r) => {
      const c = new Map<string, string>()
      for (const [path, v] of Object.entries(r.data)) c.set(`data:${path}`, `${v.oid.slice(0, 8)} (${v.nfiles === undefined ? '' : `${v.nfiles} files, `}${formatBytes(v.size)})${v.changed ? ' *' : ''}`)
      for (const [k, v] of Object.entries(r.params)) c.set(`param:${k}`, show(v, precision))
      for (const [k, v] of Object.entries(r.metrics)) c.set(`metric:${k}`, show(v, precision))
      if (!r.hasMetrics) c.set('metrics', '(no metrics)')
      return c
    })
    let columns = [...new Set(cells.flatMap((c) => [...c.keys()]))]
    const order = (name: string) => (name.startsWith('data:') ? 0 : name.startsWith('param:') ? 1 : 2)
    columns.sort((a, b) => order(a) - order(b))
    const globs = flags.columns?.flatMap((g) => g.split(',')).map(globRe)
    if (globs) columns = columns.filter((name) => globs.some((g) => g.test(name)))
    if (flags['only-changed']) columns = columns.filter((name) => new Set(cells.map((c) => c.get(name)?.replace(/ \*$/, '') ?? '-')).size > 1)
    let indexed = rows.map((r, i) => ({r, c: cells[i]}))
    const sortBy = flags['sort-by']
    if (sortBy) {
      if (!cells.some((c) => c.has(sortBy))) throw new DvError('EUSAGE', `no column ${JSON.stringify(sortBy)} to sort by (columns: ${columns.join(', ')})`, 2)
      const value = (x: {r: CompareRow; c: Map<string, string>}) => {
        const [kind, ...rest] = sortBy.split(':')
        const key = rest.join(':')
        return kind === 'metric' ? x.r.metrics[key] : kind === 'param' ? x.r.params[key] : x.c.get(sortBy)
      }
      const numeric = indexed.every((x) => value(x) === undefined || typeof value(x) === 'number')
      const dir = (flags['sort-order'] ?? (numeric ? 'desc' : 'asc')) === 'asc' ? 1 : -1
      indexed = [...indexed].sort((a, b) => {
        const [va, vb] = [value(a), value(b)]
        if (va === undefined || vb === undefined) return va === undefined ? (vb === undefined ? 0 : 1) : -1 // missing last
        return (numeric ? (va as number) - (vb as number) : String(va).localeCompare(String(vb))) * dir
      })
    }
    if (flags.json) {
      const keep = (prefix: string, obj: Record<string, unknown>) => Object.fromEntries(Object.entries(obj).filter(([k]) => columns.includes(`${prefix}:${k}`)))
      return this.printJson(indexed.map(({r}) => ({rev: r.rev, ...(r.commit ? {commit: r.commit} : {}), data: keep('data', r.data), params: keep('param', r.params), metrics: keep('metric', r.metrics), hasMetrics: r.hasMetrics})))
    }
    const header = ['Revision', ...columns]
    const body = indexed.map(({r, c}) => [r.rev, ...columns.map((name) => c.get(name) ?? '-')])
    process.stdout.write(renderTable(header, body, tableFormat(flags)))
  }
}
