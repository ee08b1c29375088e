/**
 * Loads the ink views on demand. They are compiled by tsc beside the esbuild bundle
 * (dist/cli/*.js) and imported by a URL esbuild cannot follow, so ink and React stay out of
 * the bundle and out of every command's start-up.
 */
import {DvError} from '../errors.js'
import type {CompareRow} from '../repo/compare.js'
import type {TableOptions} from './compare-table.js'

/** Refuses to draw a full-screen view without a terminal to draw it on and read keys from. */
function needTerminal(what: string): void {
  if (!process.stdin.isTTY || !process.stdout.isTTY) throw new DvError('EUSAGE', `${what} needs a terminal (stdin and stdout); leave out -i for a table`, 2)
}

export async function compareInteractively(rows: CompareRow[], options: TableOptions): Promise<void> {
  needTerminal('dv compare -i')
  const view = new URL('./compare-view.js', import.meta.url).href
  const {runCompareView} = (await import(view)) as typeof import('./compare-view.js')
  await runCompareView(rows, options)
}
