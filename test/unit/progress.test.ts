import {afterEach, describe, expect, it, vi} from 'vitest'

import {formatBytes, Progress} from '../../dist/cli/progress.js'

function fakeStream(isTTY: boolean) {
  const writes: string[] = []
  return {stream: {isTTY, write: (s: string) => writes.push(s)} as unknown as NodeJS.WriteStream, writes}
}

afterEach(() => {
  vi.useRealTimers()
})

describe('progress', () => {
  it('appears on a terminal only after a second, with files, bytes and rate, and is erased at the end', () => {
    vi.useFakeTimers()
    const {stream, writes} = fakeStream(true)
    const p = new Progress('Adding', false, stream)
    p.update(10, 1024)
    expect(writes).toEqual([])
    vi.advanceTimersByTime(2000)
    p.update(20, 4 * 1024 * 1024)
    expect(writes).toEqual(['\r\x1b[KAdding: 20 files, 4.00 MiB (2.00 MiB/s)'])
    p.done()
    expect(writes.at(-1)).toBe('\r\x1b[K')
  })

  it('shows a bar and a percentage once the total is known', () => {
    vi.useFakeTimers()
    const {stream, writes} = fakeStream(true)
    const p = new Progress('Pushing', false, stream)
    p.total(200, 8 * 1024 * 1024)
    vi.advanceTimersByTime(2000)
    p.update(50, 2 * 1024 * 1024)
    expect(writes).toEqual(['\r\x1b[KPushing: [#####---------------] 25% 50/200 files, 2.00 MiB/8.00 MiB (1.00 MiB/s)'])
  })

  it('stays silent on a pipe and with --quiet', () => {
    vi.useFakeTimers()
    for (const [tty, quiet] of [[false, false], [true, true]]) {
      const {stream, writes} = fakeStream(tty)
      const p = new Progress('x', quiet, stream)
      vi.advanceTimersByTime(5000)
      p.update(1, 1)
      p.done()
      expect(writes).toEqual([])
    }
  })

  it('formats sizes', () => {
    expect(formatBytes(0)).toBe('0 B')
    expect(formatBytes(1536)).toBe('1.50 KiB')
    expect(formatBytes(700 * 1024 * 1024)).toBe('700.0 MiB')
  })
})
