/** Tables as text (aligned columns), Markdown (for a pull request comment) or CSV. */
export type TableFormat = 'text' | 'md' | 'csv'

export function renderTable(header: string[], rows: string[][], format: TableFormat): string {
  if (format === 'csv') {
    const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s)
    return [header, ...rows].map((r) => r.map(q).join(',')).join('\n') + '\n'
  }
  if (format === 'md') {
    const esc = (s: string) => s.replace(/\|/g, '\\|')
    return [`| ${header.map(esc).join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n') + '\n'
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')
  return [line(header), ...rows.map(line)].join('\n') + '\n'
}
