/**
 * Reading files at any git revision without touching the work tree or the index: one
 * long-lived `git cat-file --batch` process answers every read, so reading the pointers of 1,000
 * revisions costs one process, not 1,000.
 */
import {spawn, execFileSync, type ChildProcessWithoutNullStreams} from 'node:child_process'

import {GitError} from '../errors.js'

export interface GitObject {
  oid: string
  type: 'blob' | 'tree' | 'commit' | 'tag'
  data: Buffer
}

interface Waiter {
  resolve: (value: GitObject | undefined) => void
  reject: (error: Error) => void
}

export class GitObjects {
  private readonly proc: ChildProcessWithoutNullStreams
  private pending: Buffer = Buffer.alloc(0)
  private readonly waiters: Waiter[] = []
  private readonly hashBytes: number
  private failed?: Error

  constructor(readonly root: string) {
    const format = execFileSync('git', ['rev-parse', '--show-object-format'], {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim()
    this.hashBytes = format === 'sha256' ? 32 : 20
    this.proc = spawn('git', ['cat-file', '--batch'], {cwd: root, stdio: ['pipe', 'pipe', 'pipe']})
    this.proc.stdout.on('data', (chunk: Buffer) => {
      this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
      this.drain()
    })
    const fail = (error: Error) => {
      this.failed = error
      for (const w of this.waiters.splice(0)) w.reject(error)
    }
    this.proc.on('error', (e) => fail(new GitError(`git cat-file: ${e.message}`)))
    this.proc.on('exit', (code) => {
      if (this.waiters.length > 0) fail(new GitError(`git cat-file exited with code ${code}`))
    })
  }

  /** Reads `<rev>:<path>`, `<rev>^{tree}` or any object name; undefined when it does not exist. */
  read(spec: string): Promise<GitObject | undefined> {
    if (this.failed) return Promise.reject(this.failed)
    if (spec.includes('\n')) return Promise.resolve(undefined)
    return new Promise((resolve, reject) => {
      this.waiters.push({resolve, reject})
      this.proc.stdin.write(spec + '\n')
    })
  }

  /** The commit a revision names (branch, tag, HEAD~3, short hash), or an error naming it. */
  async commitOf(rev: string): Promise<string> {
    const obj = await this.read(`${rev}^{commit}`)
    if (!obj) throw new GitError(`unknown revision ${JSON.stringify(rev)}`)
    return obj.oid
  }

  /** Every file under a tree whose name passes `keep`, as path → blob id. */
  async listFiles(treeSpec: string, keep: (name: string) => boolean): Promise<Map<string, string>> {
    const out = new Map<string, string>()
    const walk = async (spec: string, prefix: string) => {
      const tree = await this.read(spec)
      if (!tree || tree.type !== 'tree') return
      const subtrees: Array<[string, string]> = []
      let off = 0
      const d = tree.data
      while (off < d.length) {
        const space = d.indexOf(0x20, off)
        const nul = d.indexOf(0, space)
        const mode = d.toString('latin1', off, space)
        const name = d.toString('utf8', space + 1, nul)
        const oid = d.toString('hex', nul + 1, nul + 1 + this.hashBytes)
        off = nul + 1 + this.hashBytes
        const path = prefix ? `${prefix}/${name}` : name
        if (mode === '40000') subtrees.push([oid, path])
        else if (!mode.startsWith('160') && keep(name)) out.set(path, oid)
      }
      await Promise.all(subtrees.map(([oid, path]) => walk(oid, path)))
    }
    await walk(treeSpec, '')
    return out
  }

  close(): void {
    this.proc.stdin.end()
  }

  private drain(): void {
    for (;;) {
      const waiter = this.waiters[0]
      if (!waiter) return
      const nl = this.pending.indexOf(0x0a)
      if (nl < 0) return
      const header = this.pending.toString('utf8', 0, nl)
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.pending = this.pending.subarray(nl + 1)
        this.waiters.shift()
        waiter.resolve(undefined)
        continue
      }
      const [oid, type, sizeText] = header.split(' ')
      const size = Number(sizeText)
      if (this.pending.length < nl + 1 + size + 1) return // the rest of the object is still coming
      const data = Buffer.from(this.pending.subarray(nl + 1, nl + 1 + size))
      this.pending = this.pending.subarray(nl + 1 + size + 1)
      this.waiters.shift()
      waiter.resolve({oid, type: type as GitObject['type'], data})
    }
  }
}
