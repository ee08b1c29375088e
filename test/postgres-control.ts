/**
 * A throwaway PostgreSQL server for tests: initdb into a temporary directory, started with
 * pg_ctl on a free port of 127.0.0.1 (TCP only, password authentication), stopped and removed
 * after. PostgreSQL refuses to run as root, so under root (as in CI) it runs as the `postgres`
 * user that the Debian package creates, through runuser. Free of vitest, like s3-control.ts.
 */
import {spawnSync} from 'node:child_process'
import {chownSync, existsSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

/** Where initdb and pg_ctl are: on the PATH, else the newest /usr/lib/postgresql/<version>/bin (Debian's place). */
export function postgresBinDir(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v initdb'], {encoding: 'utf8'})
  if (found.status === 0 && found.stdout.trim()) return dirname(realpathSync(found.stdout.trim()))
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a))
  return versions.length > 0 ? join(root, versions[0], 'bin') : undefined
}

export interface Postgres {
  port: number
  /** postgres://user:password@127.0.0.1:port/postgres */
  url: string
  user: string
  password: string
  stop(): void
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

export async function startPostgres(options: {user?: string; password?: string} = {}): Promise<Postgres> {
  const bin = postgresBinDir()
  if (!bin) throw new Error('PostgreSQL is not installed (initdb not found)')
  const user = options.user ?? 'dvtest'
  const password = options.password ?? 'pg-Secret-4711'
  const asRoot = process.getuid?.() === 0
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'dv-postgres-')))
  const data = join(dir, 'data')
  writeFileSync(join(dir, 'pw'), `${password}\n`, {mode: 0o600})
  if (asRoot) {
    const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], {encoding: 'utf8'}).stdout.trim())
    const uid = id('-u')
    const gid = id('-g')
    if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, and there is no postgres user to run PostgreSQL as')
    chownSync(dir, uid, gid)
    chownSync(join(dir, 'pw'), uid, gid)
  }
  const run = (program: string, args: string[]) => {
    const command = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] as const : [join(bin, program), args] as const
    const r = spawnSync(command[0], command[1], {encoding: 'utf8', cwd: dir, env: {...process.env, LC_ALL: 'C'}})
    if (r.status !== 0) throw new Error(`${program} failed (${r.status}): ${r.stderr}${r.stdout}`)
  }
  run('initdb', ['-D', data, '-U', user, `--pwfile=${join(dir, 'pw')}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'])
  const port = await freePort()
  const settings = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`
  run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', settings, 'start'])
  return {
    port,
    user,
    password,
    url: `postgres://${user}:${password}@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, {recursive: true, force: true})
      }
    },
  }
}
