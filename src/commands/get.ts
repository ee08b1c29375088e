import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {formatBytes} from '../cli/progress.js'
import {get} from '../repo/get.js'

export default class Get extends DvCommand {
  static override summary = 'Copy a tracked dataset or model out of another dv repository.'
  static override description = `Reads the target's pointer in REPOSITORY (a local path or any git URL) at --rev (default HEAD: any branch, tag or commit of that repository) and writes the data to --out (default: the target's name here). Objects come from that repository's cache when it is on this machine, else from its default remote (as its committed .dv/config names it), and are checked against their ids. Nothing is tracked in the current directory; it does not even need to be a repository.`
  static override examples = ['<%= config.bin %> get ../datasets data/images', '<%= config.bin %> get /srv/ml-repo models/model.onnx --rev v2.0 -o model-v2.onnx']
  static override args = {
    repository: Args.string({ignoreStdin: true, description: 'The dv repository to copy from (a local path or git URL).', required: true}),
    target: Args.string({ignoreStdin: true, description: 'A tracked path or pointer file in that repository.', required: true}),
  }
  static override flags = {
    rev: Flags.string({description: 'Revision of the source repository (branch, tag, commit).'}),
    out: Flags.string({char: 'o', description: 'Where to write the data.'}),
    force: Flags.boolean({char: 'f', description: 'Replace the output path if it exists.'}),
    json: Flags.boolean({description: 'Print the result as JSON.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Get)
    const progress = this.progress('Copying')
    const r = await get(args.repository, args.target, {rev: flags.rev, out: flags.out, force: flags.force, onProgress: progress.update})
    progress.done()
    if (flags.json) return this.printJson(r)
    this.say(`${r.path}: ${r.files} ${r.files === 1 ? 'file' : 'files'}, ${formatBytes(r.size)} (${args.target} at ${r.rev})`)
  }
}
