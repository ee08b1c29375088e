import {spawn} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'

import {hashBytes} from '../../dist/hash/blake3.js'
import {BIN, dv, makeRepo, pseudoRandom, testEnv, writeFiles} from '../helpers.js'

/** Every object in the cache holds exactly the bytes its name says. */
function corruptObjects(repo: string): string[] {
  const objects = join(repo, '.dv/cache/objects')
  const bad: string[] = []
  for (const fan of readdirSync(objects)) {
    for (const rest of readdirSync(join(objects, fan))) {
      if (hashBytes(readFileSync(join(objects, fan, rest))) !== fan + rest) bad.push(fan + rest)
    }
  }
  return bad
}

describe('interrupted commands', () => {
  it('an add killed with SIGKILL leaves no partial object, and running it again finishes the job', async () => {
    const repo = makeRepo()
    const files: Record<string, Buffer> = {'data/big.bin': pseudoRandom(24 * 1024 * 1024, 5)}
    for (let i = 0; i < 400; i++) files[`data/d${i % 9}/f${i}.bin`] = pseudoRandom(32 * 1024, i + 10)
    writeFiles(repo, files)
    for (const delay of [150, 400]) {
      const child = spawn(process.execPath, [BIN, 'add', 'data'], {cwd: repo, env: testEnv(repo), stdio: 'ignore'})
      await new Promise((r) => setTimeout(r, delay))
      child.kill('SIGKILL')
      await new Promise((r) => child.on('exit', r))
      expect(corruptObjects(repo)).toEqual([])
    }
    dv(repo, 'add', 'data').ok()
    expect(corruptObjects(repo)).toEqual([])
    expect(dv(repo, 'status', '--json').ok().json()).toEqual({})
    expect(readFileSync(join(repo, 'data.dv'), 'utf8')).toContain('nfiles: 401')
  })
})
