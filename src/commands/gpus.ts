import {Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {type Gpu, gpuProbe} from '../pipeline/gpus.js'

export default class Gpus extends DvCommand {
  static override summary = 'List the GPUs pipeline stages may use.'
  static override description =
    'Asks nvidia-smi for the GPUs, limited by DV_GPUS (`none` or indices such as 0,1,3) or else by CUDA_VISIBLE_DEVICES. With no GPUs, says why on one line.'
  static override examples = ['<%= config.bin %> gpus', 'DV_GPUS=0,1 <%= config.bin %> gpus --json']
  static override flags = {
    json: Flags.boolean({description: 'Print {gpus, note} as JSON (unknown memory as null).'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Gpus)
    const probe = gpuProbe()
    if (flags.json) return this.printJson(probe.note === undefined ? {gpus: probe.gpus} : probe)
    if (probe.gpus.length === 0) {
      this.say(`no GPUs${probe.note ? ` (${probe.note})` : ''}`)
      return
    }
    for (const g of probe.gpus) this.say(`${g.index}\t${g.name || '?'}\t${memory(g)}\t${g.uuid || '-'}`)
    if (probe.note && !this.quiet) process.stderr.write(`${probe.note}\n`)
  }
}

function memory(g: Gpu): string {
  const n = (v: number): string => (Number.isFinite(v) ? String(v) : '?')
  return `${n(g.memoryUsedMiB)}/${n(g.memoryTotalMiB)} MiB used`
}
