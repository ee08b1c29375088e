/**
 * `dv install-hooks`: git hooks that keep the data in line with git. post-checkout (branch
 * switches) and post-merge run `dv checkout`; pre-push runs `dv push` to the default remote, so
 * that what a pushed commit pins can be pulled (a failed `dv push` stops the `git push`). A hook that was already there is kept beside ours
 * as `<hook>.dv-chained` and still runs first, with the same arguments and input; uninstalling
 * puts it back. Hooks go where git looks for them (`core.hooksPath` included).
 */
import {execFileSync} from 'node:child_process'
import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {isAbsolute, join} from 'node:path'

import {GitError} from '../errors.js'
import {writeFileAtomic} from '../util/atomic.js'
import {Repo} from './repo.js'

export const HOOKS = ['post-checkout', 'post-merge', 'pre-push'] as const
const MARK = '# installed by dv install-hooks'
const CHAINED = '.dv-chained'

function hooksDir(repo: Repo): string {
  const dir = execFileSync('git', ['rev-parse', '--git-path', 'hooks'], {cwd: repo.root, encoding: 'utf8'}).trim()
  return isAbsolute(dir) ? dir : join(repo.root, dir)
}

/** The command a hook runs: this very dv (node + bin/run.js), so it works without dv on PATH. */
function dvCommand(): string {
  const bin = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  return `${quote(process.execPath)} ${quote(bin)}`
}

function script(hook: (typeof HOOKS)[number]): string {
  // post-checkout gets "<old> <new> <flag>": flag 1 is a branch checkout, 0 a file checkout.
  const dv = dvCommand()
  const guard = hook === 'post-checkout' ? '[ "$3" = "1" ] || exit 0\n' : ''
  // pre-push: without a default remote there is nowhere to push the data; say so, let git go on.
  const run = hook === 'pre-push'
    ? `if ! ${dv} remote default >/dev/null 2>&1; then echo "dv: no default remote: data not pushed (dv remote add -d <name> <url>)" >&2; exit 0; fi\nexec ${dv} push\n`
    : `exec ${dv} checkout\n`
  return `#!/bin/sh
${MARK}
prev="$(dirname "$0")/${hook}${CHAINED}"
if [ -x "$prev" ]; then "$prev" "$@" || exit $?; fi
${guard}${run}`
}

export function isDvHook(path: string): boolean {
  return existsSync(path) && readFileSync(path, 'utf8').includes(MARK)
}

export function installHooks(options: {cwd?: string; uninstall?: boolean} = {}): Array<{hook: string; action: string}> {
  const repo = Repo.open(options.cwd ?? process.cwd())
  if (!repo.git) throw new GitError('git hooks need git: this repository was made with --no-scm')
  const dir = hooksDir(repo)
  mkdirSync(dir, {recursive: true})
  const done: Array<{hook: string; action: string}> = []
  for (const hook of HOOKS) {
    const path = join(dir, hook)
    const chained = path + CHAINED
    if (options.uninstall) {
      if (!isDvHook(path)) continue
      if (existsSync(chained)) {
        renameSync(chained, path)
        done.push({hook, action: 'restored the previous hook'})
      } else {
        rmSync(path)
        done.push({hook, action: 'removed'})
      }
      continue
    }
    if (existsSync(path) && !isDvHook(path)) {
      if (existsSync(chained)) throw new GitError(`${chained} already exists; move it away first`)
      renameSync(path, chained)
      done.push({hook, action: 'installed, chained after the existing hook'})
    } else {
      done.push({hook, action: isDvHook(path) ? 'updated' : 'installed'})
    }
    writeFileAtomic(path, script(hook), 0o755)
    chmodSync(path, 0o755)
  }
  return done
}
