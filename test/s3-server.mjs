// Starts s3rver (a real S3-compatible server) on 127.0.0.1 in its own process, for the S3 tests
// and the benchmark: the CLI runs as a child of the test worker, which blocks in spawnSync, so the
// server must not live in that worker.
//   node test/s3-server.mjs [--port P] [--dir D]
// Prints "<port> <data dir>", then serves until stdin closes or it is killed. A line "count" on
// stdin is answered on stdout with the number of requests served so far. Data in a --dir given
// by the caller is kept when the server stops (so a test can stop and restart it); a directory
// the server made itself is removed.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import S3rver from 's3rver'

const arg = (name) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : undefined
}
const given = arg('--dir')
const dir = given ?? mkdtempSync(join(tmpdir(), 'dv-s3rver-'))
const server = new S3rver({port: Number(arg('--port') ?? 0), address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{name: 'dv-test'}]})
const {port} = await server.run()
let requests = 0
server.httpServer.on('request', () => requests++)
process.stdout.write(`${port} ${dir}\n`)
const stop = async () => {
  await server.close()
  if (!given) rmSync(dir, {recursive: true, force: true})
  process.exit(0)
}
const lines = createInterface({input: process.stdin})
lines.on('line', (line) => {
  if (line.trim() === 'count') process.stdout.write(`${requests}\n`)
})
lines.on('close', stop)
process.on('SIGTERM', stop)
