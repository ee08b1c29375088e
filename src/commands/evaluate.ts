import {Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {UsageError} from '../errors.js'
import {DEFAULT_BATCH_ROWS, evaluate, type ProviderChoice, type Task} from '../builtins/evaluate.js'

/** `a,b,c` (or the flag repeated) as a list; empty names are an error. */
function list(values: string[] | undefined, flag: string): string[] | undefined {
  if (values === undefined) return undefined
  const items = values.flatMap((v) => v.split(','))
  if (items.some((i) => i === '')) throw new UsageError(`--${flag}: an empty name in "${values.join(',')}"`)
  return items
}

export default class Evaluate extends DvCommand {
  static override summary = 'Run an ONNX model over a table and write its metrics and plot data.'
  static override description = `A built-in stage command: reads --data (CSV, TSV, JSON lines or Parquet) with DuckDB in batches, runs --model with onnxruntime, and writes the metrics as JSON (-o): for classification accuracy, precision, recall and F1 per class and their macro mean, ROC-AUC, log loss and the confusion matrix; for regression MAE, RMSE, R² and MAPE. With --plots-dir, also roc.json, prc.json (curves of at most 200 points per class) and confusion.csv (one row per sample), ready for 'dv plots'. The model runs on CUDA when CUDA_VISIBLE_DEVICES names a GPU (dv repro sets it for stages with 'gpus:') and onnxruntime has its CUDA provider, else on the CPU; which one is printed on stderr. Every output is written whole or not at all. See docs/stages.md.`
  static override examples = [
    '<%= config.bin %> evaluate --model model.onnx --data test.parquet --label species',
    '<%= config.bin %> evaluate --model model.onnx --data test.parquet --label species -o eval/metrics.json --plots-dir eval/plots',
    '<%= config.bin %> evaluate --model price.onnx --data test.csv --label price --task regression',
    '<%= config.bin %> evaluate --model model.onnx --data test.parquet --label y --features x1,x2,x3 --classes no,yes',
  ]
  static override flags = {
    model: Flags.string({char: 'm', description: 'The ONNX model: one float32 input [rows, features].', required: true}),
    data: Flags.string({char: 'd', description: 'The table to evaluate on (.csv, .tsv, .jsonl, .ndjson, .parquet).', required: true}),
    label: Flags.string({char: 'l', description: 'The column of actual classes (or values, for regression).', required: true}),
    task: Flags.string({description: 'Default: regression when the label is floating-point and the model outputs one value per row, else classification.', options: ['classification', 'regression']}),
    features: Flags.string({description: "The model's input columns, in order, comma-separated (default: every numeric column but the label, in the file's order).", multiple: true, multipleNonGreedy: true}),
    classes: Flags.string({description: "The classes in the order of the model's outputs, comma-separated (default: the label's distinct values, sorted).", multiple: true, multipleNonGreedy: true}),
    out: Flags.string({char: 'o', description: 'The metrics file (JSON).', default: 'metrics.json'}),
    'plots-dir': Flags.string({description: 'Also write roc.json, prc.json and confusion.csv in this directory (classification).'}),
    provider: Flags.string({description: 'Where the model runs: auto (CUDA when given a GPU and available, else CPU), cpu, or cuda (fail without it).', options: ['auto', 'cpu', 'cuda'], default: 'auto'}),
    'batch-size': Flags.integer({description: `Rows per model run (default ${DEFAULT_BATCH_ROWS}).`, min: 1}),
    json: Flags.boolean({description: 'Print the metrics (and what ran) as JSON on stdout.'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Evaluate)
    const note = (line: string) => this.quiet || process.stderr.write(`${line}\n`)
    const result = await evaluate({
      model: flags.model,
      data: flags.data,
      label: flags.label,
      task: flags.task as Task | undefined,
      features: list(flags.features, 'features'),
      classes: list(flags.classes, 'classes'),
      out: flags.out,
      plotsDir: flags['plots-dir'],
      provider: flags.provider as ProviderChoice,
      batchSize: flags['batch-size'],
      onNote: note,
    })
    if (flags.json) {
      const {metrics, ...run} = result
      this.printJson({...run, metrics})
      return
    }
    const rate = Math.round(result.rows / Math.max(result.seconds, 1e-9)).toLocaleString('en-US')
    const what = result.classes ? `${result.classes.length} classes` : 'regression'
    note(`evaluated ${result.rows.toLocaleString('en-US')} rows of ${flags.data} (${what}) on the ${result.provider} execution provider in ${result.seconds.toFixed(2)} s (${rate} rows/s): ${result.outputs.join(', ')}`)
  }
}
