import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {split} from '../builtins/split.js'

const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter((s) => s !== '')

export default class Split extends DvCommand {
  static override summary = 'Split a tabular file into train/val/test Parquet files, and check them for leakage.'
  static override description = `A built-in stage. Random (by a seeded hash of each row), stratified (--stratify: every class cut at the ratios), group-aware (--group: no group in two splits) or chronological (--time: earliest rows first). The same input and seed give the same splits, whatever the order of the input's rows (random, stratified and group splits). Writes <out-dir>/<name>.parquet for each split, then fails, leaving nothing behind, if identical rows or (with --group) group keys are in more than one split. --report writes each split's rows and class balance as a metrics file. See docs/stages.md.`
  static override examples = [
    '<%= config.bin %> split data/clean.parquet --out-dir data/split',
    '<%= config.bin %> split data/clean.parquet --out-dir data/split --ratios 0.8,0.1,0.1 --stratify label --seed 7 --report reports/split.json',
    '<%= config.bin %> split events.csv --out-dir data/split --ratios 0.9,0.1 --time ts',
    '<%= config.bin %> split clicks.parquet --out-dir data/split --group user_id --names train,holdout --ratios 0.7,0.3',
  ]
  static override args = {
    input: Args.string({required: true, ignoreStdin: true, description: 'The input file (.csv, .tsv, .jsonl, .ndjson or .parquet).'}),
  }
  static override flags = {
    'out-dir': Flags.string({description: 'Where <name>.parquet is written for each split.', required: true}),
    ratios: Flags.string({description: 'Each split\'s share of the rows, summing to 1.', default: '0.8,0.1,0.1'}),
    names: Flags.string({description: 'The splits\' names, one per ratio (default: train,val,test for three ratios, train,test for two).'}),
    stratify: Flags.string({description: 'Cut each class of this column at the ratios.', exclusive: ['group', 'time']}),
    group: Flags.string({description: 'Keep all rows with the same value of this column in one split.', exclusive: ['stratify', 'time']}),
    time: Flags.string({description: 'Order by this column (dates, times or numbers): earliest rows in the first split.', exclusive: ['stratify', 'group']}),
    key: Flags.string({description: 'Columns that identify a row (comma list; default: all), for random and stratified splits.'}),
    label: Flags.string({description: 'Report the class balance of this column (default: the --stratify column).'}),
    seed: Flags.integer({description: 'Seed of the hash that orders the rows.', default: 0}),
    report: Flags.string({description: 'Write the report (rows and class balance per split, leakage) to this JSON file.'}),
    'allow-leakage': Flags.boolean({description: 'Write the splits even when rows or groups are in more than one (a warning, not an error).'}),
    json: Flags.boolean({description: 'Print the report as JSON.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Split)
    const result = await split({
      input: args.input,
      outDir: flags['out-dir'],
      ratios: flags.ratios,
      names: list(flags.names),
      stratify: flags.stratify,
      group: flags.group,
      time: flags.time,
      key: list(flags.key),
      label: flags.label,
      seed: flags.seed,
      report: flags.report,
      allowLeakage: flags['allow-leakage'],
    })
    for (const w of result.warnings) process.stderr.write(`WARNING: ${w}\n`)
    if (flags.json) return this.printJson(result.report)
    const names = Object.keys(result.report.splits)
    const width = Math.max(...names.map((n) => n.length))
    const digits = Math.max(...names.map((n) => String(result.report.splits[n].rows).length))
    for (const n of names) {
      const s = result.report.splits[n]
      this.say(`${n.padEnd(width)}  ${String(s.rows).padStart(digits)} ${(s.rows === 1 ? 'row' : 'rows').padEnd(4)}  ${(s.ratio * 100).toFixed(1).padStart(5)}%  ${result.outputs[n]}`)
    }
  }
}
