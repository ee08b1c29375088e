/** What `dv plots show` and `dv plots diff` share: where the page goes, or JSON instead. */
import {resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

import {Flags} from '@oclif/core'

import {writePage} from '../plots/html.js'
import type {Plots} from '../repo/plots.js'

export const plotsOutputFlags = {
  out: Flags.string({char: 'o', description: 'Directory to write index.html in.', default: 'dv_plots'}),
  json: Flags.boolean({description: 'Print the plots as JSON (Vega-Lite specs with their data; images as data: URIs) instead of writing HTML.'}),
}

/** Writes the page under `out` (relative to the current directory) and returns its file:// URL, for a terminal to open. */
export async function writePlots(out: string, plots: Plots): Promise<string> {
  return pathToFileURL(await writePage(resolve(out), plots)).href
}
