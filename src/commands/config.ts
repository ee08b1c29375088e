import {Args, Flags} from '@oclif/core'

import {DvCommand} from '../cli/base-command.js'
import {UsageError} from '../errors.js'
import {checkKey, Config, SECRET_OPTIONS, type ConfigLevel} from '../repo/config.js'
import {Repo} from '../repo/repo.js'

const isSecret = (key: string) => SECRET_OPTIONS.has(key.slice(key.lastIndexOf('.') + 1).toLowerCase()) || /secret|password|token/i.test(key)

export default class ConfigCommand extends DvCommand {
  static override summary = 'Get, set or list configuration, git-style.'
  static override description = `Keys are section.option (core.link_type) or section.name.option (remote.origin.url). Values go to .dv/config (committed) by default, .dv/config.local with --local (credentials, machine-local settings; not committed), or the user's ~/.config/dv/config with --global. Secrets are never printed by --list.`
  static override examples = [
    '<%= config.bin %> config core.link_type hardlink,copy',
    '<%= config.bin %> config core.link_type',
    '<%= config.bin %> config --list',
    '<%= config.bin %> config --unset core.link_type',
  ]
  static override args = {
    key: Args.string({ignoreStdin: true, description: 'section.option'}),
    value: Args.string({ignoreStdin: true, description: 'Value to set.'}),
  }
  static override flags = {
    local: Flags.boolean({description: 'Use .dv/config.local.', exclusive: ['global']}),
    global: Flags.boolean({description: 'Use the user-wide config.', exclusive: ['local']}),
    list: Flags.boolean({char: 'l', description: 'List all values.'}),
    unset: Flags.boolean({char: 'u', description: 'Remove the key.'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ConfigCommand)
    const level: ConfigLevel = flags.global ? 'global' : flags.local ? 'local' : 'repo'
    let config: Config
    try {
      config = Repo.open().config
    } catch (error) {
      if (!flags.global && !(flags.list && !flags.local)) throw error
      config = new Config(undefined)
    }
    if (flags.list) {
      const entries = flags.global || flags.local ? config.file(level).entries() : config.all()
      for (const [k, v] of entries) this.say(`${k}=${isSecret(k) ? '***' : v}`)
      return
    }
    if (!args.key) throw new UsageError('missing key: dv config <section.option> [value] (or --list)')
    if (flags.unset) {
      if (!config.unset(level, args.key)) throw new UsageError(`${args.key} is not set in the ${level} config`)
      return
    }
    if (args.value === undefined) {
      checkKey(args.key)
      const value = config.get(args.key)
      if (value === undefined) {
        process.exitCode = 1
        return
      }
      this.say(value)
      return
    }
    config.set(level, args.key, args.value)
  }
}
