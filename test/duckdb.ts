/** A DuckDB session for tests that read back what the stages wrote: opened on first use, closed after each test. */
import {afterEach} from 'vitest'

import {DataEngine} from '../src/data/engine.js'

let engine: DataEngine | undefined
afterEach(() => {
  engine?.close()
  engine = undefined
})

/** The test's DuckDB session. */
export async function testEngine(): Promise<DataEngine> {
  engine ??= await DataEngine.open()
  return engine
}

export async function query(sql: string): Promise<unknown[][]> {
  return (await testEngine()).rows(sql)
}
