/**
 * `dv init`: makes `.dv/` (config, cache, and the `.gitignore` that keeps the cache, the state
 * cache and the local config out of git) at the top of the git work tree, or in `cwd` with
 * `noScm`. Running it again repairs anything missing and changes nothing else.
 */
import {existsSync, mkdirSync, realpathSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'

import {NotAGitRepoError} from '../errors.js'
import {findWorkTree, Git} from '../scm/git.js'
import {DVIGNORE} from '../workspace/ignore.js'
import {DV_DIR, Repo} from './repo.js'

export interface InitResult {
  root: string
  /** False when the repository was already initialised. */
  created: boolean
  scm: boolean
}

const DV_GITIGNORE = '/config.local\n/cache\n/state\n/tmp\n'
const DVIGNORE_TEXT = '# Paths dv leaves out of tracked directories, in .gitignore syntax.\n'

export async function init(options: {cwd?: string; noScm?: boolean} = {}): Promise<InitResult> {
  const cwd = realpathSync(options.cwd ?? process.cwd())
  const workTree = findWorkTree(cwd)
  if (!workTree && !options.noScm) throw new NotAGitRepoError(cwd)
  const root = options.noScm ? cwd : realpathSync(workTree!)
  const dvDir = join(root, DV_DIR)
  const created = !existsSync(join(dvDir, 'config'))
  mkdirSync(dvDir, {recursive: true})
  const writeIfMissing = (path: string, text: string) => {
    if (!existsSync(path)) writeFileSync(path, text)
  }
  writeIfMissing(join(dvDir, '.gitignore'), DV_GITIGNORE)
  writeIfMissing(join(dvDir, 'config'), options.noScm ? '[core]\n\tno_scm = true\n' : '')
  writeIfMissing(join(root, DVIGNORE), DVIGNORE_TEXT)
  const repo = new Repo(root)
  repo.odb.init()
  if (created && !options.noScm) {
    // As `dvc init` does: stage dv's own files so the next git commit records them.
    await new Git(root).add([`${DV_DIR}/.gitignore`, `${DV_DIR}/config`, DVIGNORE])
  }
  return {root, created, scm: !options.noScm}
}
