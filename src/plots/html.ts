/**
 * The plots as one self-contained HTML page: it opens from disk with no network. Each chart's
 * Vega-Lite spec is compiled to Vega here (vega-lite, loaded only now: it is large and most
 * commands never draw), and the page carries Vega's browser build inline, read from
 * node_modules at run time, to draw each chart as SVG. Images are inline `data:` URIs.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'

import type {Plot, Plots} from '../repo/plots.js'
import {colourOf, type VegaLiteSpec} from './specs.js'

type VegaLite = typeof import('vega-lite')
type Logger = NonNullable<NonNullable<Parameters<VegaLite['compile']>[1]>['logger']>

/** The page's file name inside the output directory. */
export const PAGE = 'index.html'

/**
 * A Vega-Lite spec compiled to Vega, and what Vega-Lite warned about (a warning means the chart
 * may not show what the spec says; tests hold dv's specs to none).
 */
export async function compileSpec(spec: VegaLiteSpec): Promise<{vega: object; warnings: string[]}> {
  const {compile} = await import('vega-lite')
  const warnings: string[] = []
  const logger: Logger = {
    level() {
      return logger
    },
    error(...args: unknown[]) {
      throw new Error(args.map(String).join(' '))
    },
    warn(...args: unknown[]) {
      warnings.push(args.map(String).join(' '))
      return logger
    },
    info() {
      return logger
    },
    debug() {
      return logger
    },
  }
  // The spec is built to Vega-Lite's schema (specs.ts); its TypeScript types are too narrow to build it through.
  const vega = compile(spec as unknown as Parameters<VegaLite['compile']>[0], {logger}).spec
  return {vega, warnings}
}

/** Vega's minified browser build, as shipped in node_modules (its package exports only the module entry). */
function vegaRuntime(): string {
  const entry = createRequire(import.meta.url).resolve('vega')
  return readFileSync(join(dirname(entry), 'vega.min.js'), 'utf8')
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** JSON that is safe inside a <script> element: no `</script>` or `<!--` can end or bend it. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
.revisions { margin: 0 0 20px; color: #444; }
.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin: 0 5px 0 14px; vertical-align: -1px; }
.plots { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 12px 16px; }
section h2 { font-size: 14px; margin: 0 0 8px; }
.missing { color: #9a3412; margin: 8px 0 0; }
.error { color: #b91c1c; }
.images { display: flex; flex-wrap: wrap; gap: 14px; }
figure { margin: 0; }
figure img { display: block; max-width: 480px; max-height: 480px; border: 1px solid #eee; }
figcaption { margin-top: 4px; color: #444; }
`

/** Draws every chart into its container; a chart that fails says so in its place. */
const RENDER = `
for (const [id, spec] of Object.entries(DV_CHARTS)) {
  const el = document.getElementById(id);
  new vega.View(vega.parse(spec), {renderer: 'svg', container: el, hover: true}).runAsync().catch((e) => {
    el.className += ' error';
    el.textContent = 'This chart could not be drawn: ' + e.message;
  });
}
`

function missingNote(p: Plot): string {
  return p.missing.length === 0 ? '' : `\n<p class="missing">not found in: ${p.missing.map(escapeHtml).join(', ')}</p>`
}

function imageSection(p: Extract<Plot, {type: 'image'}>): string {
  const figures = p.images.map((i) => `<figure><img src="${i.src}" alt="${escapeHtml(`${i.path} (${i.rev})`)}"><figcaption>${escapeHtml(i.rev)}</figcaption></figure>`)
  return `<section class="plot image"><h2>${escapeHtml(p.title)}</h2>\n<div class="images">${figures.join('')}</div>${missingNote(p)}</section>`
}

/** The whole page. */
export async function renderPage(plots: Plots): Promise<string> {
  const charts: Record<string, object> = {}
  const sections: string[] = []
  for (const [n, p] of plots.plots.entries()) {
    if (p.type === 'image') {
      sections.push(imageSection(p))
      continue
    }
    const id = `plot-${n}`
    // Vega labels the drawing with the spec's description, for screen readers.
    charts[id] = (await compileSpec({...p.spec, description: p.title})).vega
    sections.push(`<section class="plot chart"><div id="${id}" class="chart"></div>${missingNote(p)}</section>`)
  }
  const legend = plots.revisions.map((r) => `<span class="swatch" style="background:${colourOf(plots.revisions, r)}"></span>${escapeHtml(r)}`).join('')
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dv plots</title>
<style>${STYLE}</style>
<script>${vegaRuntime()}</script>
</head>
<body>
<h1>dv plots</h1>
<p class="revisions">Revisions:${legend}</p>
<div class="plots">
${sections.join('\n')}
</div>
<script>
const DV_CHARTS = ${scriptJson(charts)};
${RENDER}</script>
</body>
</html>
`
}

/** Writes the page to `dir`/index.html (creating `dir`) and returns the file's path. */
export async function writePage(dir: string, plots: Plots): Promise<string> {
  const html = await renderPage(plots)
  mkdirSync(dir, {recursive: true})
  const file = join(dir, PAGE)
  writeFileSync(file, html)
  return file
}
