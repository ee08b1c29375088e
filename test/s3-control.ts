/**
 * Starting and stopping the S3 test server (test/s3-server.mjs, s3rver on 127.0.0.1) in its own
 * process, for the S3 tests and the benchmark. Free of vitest so the benchmark can use it too.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {dirname, join} from 'node:path'
import {createInterface, type Interface} from 'node:readline'
import {fileURLToPath} from 'node:url'

const SERVER = join(dirname(fileURLToPath(import.meta.url)), 's3-server.mjs')

export interface S3Server {
  endpoint: string
  port: number
  /** Where the server keeps its data: `<dir>/<bucket>/<key>._S3rver_object`. */
  dir: string
  /** Requests served so far. */
  requests(): Promise<number>
  /** Stops the server (its data stays when `dir` was given). */
  stop(): Promise<void>
  /** Kills it at once, as a crash or a dropped network would: connections break mid-request. */
  kill(): Promise<void>
}

export async function startS3Server(options: {port?: number; dir?: string} = {}): Promise<S3Server> {
  const args = [...(options.port ? ['--port', String(options.port)] : []), ...(options.dir ? ['--dir', options.dir] : [])]
  // s3rver's paginated listings need DES (its continuation tokens): the legacy OpenSSL provider.
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', SERVER, ...args], {stdio: ['pipe', 'pipe', 'inherit']})
  const lines: Interface = createInterface({input: child.stdout!})
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`s3rver exited with ${code}`))
      child.once('exit', onExit)
      lines.once('line', (line) => {
        child.off('exit', onExit)
        resolve(line)
      })
    })
  const [port, dir] = (await next()).split(' ')
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port: Number(port),
    dir,
    async requests() {
      const answer = next()
      child.stdin!.write('count\n')
      return Number(await answer)
    },
    async stop() {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.stdin!.end()
      await exited
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    },
  }
}
