/**
 * A one-line progress meter on stderr: files, bytes and rate, and a bar with a percentage once
 * the total is known (`total`). It appears only when stderr is a terminal and the work has taken
 * more than a second, and is erased when the work ends.
 */
const DELAY_MS = 1000
const EVERY_MS = 100

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  let v = n
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`
}

export class Progress {
  private readonly start = Date.now()
  private last = 0
  private shown = false
  private readonly enabled: boolean
  private totalFiles = 0
  private totalBytes = 0

  constructor(private readonly label: string, quiet = false, private readonly stream: NodeJS.WriteStream = process.stderr) {
    this.enabled = !quiet && Boolean(stream.isTTY)
  }

  /** What the whole work amounts to, when known: the meter then shows a bar. */
  readonly total = (files: number, bytes: number): void => {
    this.totalFiles = files
    this.totalBytes = bytes
  }

  /** Call as often as you like; it redraws at most every 100 ms. */
  readonly update = (files: number, bytes: number): void => {
    if (!this.enabled) return
    const now = Date.now()
    if (now - this.start < DELAY_MS || now - this.last < EVERY_MS) return
    this.last = now
    const rate = bytes / ((now - this.start) / 1000)
    let line = `${this.label}: ${files} files, ${formatBytes(bytes)} (${formatBytes(rate)}/s)`
    if (this.totalFiles > 0) {
      const done = Math.min(1, this.totalBytes > 0 ? bytes / this.totalBytes : files / this.totalFiles)
      const width = 20
      const bar = '#'.repeat(Math.round(done * width)).padEnd(width, '-')
      line = `${this.label}: [${bar}] ${Math.floor(done * 100)}% ${files}/${this.totalFiles} files, ${formatBytes(bytes)}/${formatBytes(this.totalBytes)} (${formatBytes(rate)}/s)`
    }
    this.stream.write(`\r\x1b[K${line}`)
    this.shown = true
  }

  done(): void {
    if (this.shown) this.stream.write('\r\x1b[K')
    this.shown = false
  }
}
