// Starts s3rver (a real S3-compatible server) on 127.0.0.1 in its own process, for the S3 tests:
// the CLI runs as a child of the test worker, which blocks in spawnSync, so the server must not
// live in that worker. Prints the port, then serves until stdin closes or it is killed.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import S3rver from 's3rver'

const dir = mkdtempSync(join(tmpdir(), 'dv-s3rver-'))
const server = new S3rver({port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{name: 'dv-test'}]})
const {port} = await server.run()
process.stdout.write(`${port}\n`)
const stop = async () => {
  await server.close()
  rmSync(dir, {recursive: true, force: true})
  process.exit(0)
}
process.stdin.on('end', stop)
process.stdin.resume()
process.on('SIGTERM', stop)
