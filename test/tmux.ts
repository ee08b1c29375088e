/**
 * A real terminal for tests of full-screen commands: a detached tmux session on a private
 * socket, driven with send-keys and read with capture-pane, as a user at a terminal would.
 */
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'

import {testEnv} from './helpers.js'

export class Terminal {
  private readonly socket: string
  private readonly env: NodeJS.ProcessEnv

  /** Starts `command` (a shell command line) in `cwd` on a `width`×`height` terminal. */
  constructor(dir: string, cwd: string, command: string, width = 110, height = 16) {
    this.socket = join(dir, 'tmux.sock')
    this.env = testEnv(dir)
    delete this.env.TMUX
    // A person at a terminal, not CI: ink (dv compare -i) draws only its last frame when CI is set.
    delete this.env.CI
    delete this.env.CONTINUOUS_INTEGRATION
    // The shell stays after the command, so what it left on screen and its exit status can be read.
    this.tmux('new-session', '-d', '-x', String(width), '-y', String(height), '-c', cwd, `${command}; echo "[exit $?]"; sleep 60`)
  }

  private tmux(...args: string[]): string {
    const r = spawnSync('tmux', ['-S', this.socket, ...args], {encoding: 'utf8', env: this.env})
    if (r.error) throw new Error(`tmux could not run (${r.error.message}); install it (apt-get install tmux)`)
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr}`)
    return r.stdout
  }

  /** The visible screen, trailing spaces and blank lines dropped. */
  screen(): string {
    return this.tmux('capture-pane', '-p')
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .trimEnd()
  }

  /** Waits until the screen matches `pattern` (up to 20 s); returns the screen. */
  waitFor(pattern: RegExp, timeoutMs = 20_000): string {
    const end = Date.now() + timeoutMs
    for (;;) {
      const screen = this.screen()
      if (pattern.test(screen)) return screen
      if (Date.now() > end) throw new Error(`the terminal never showed ${pattern}; it shows:\n${screen}`)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100)
    }
  }

  /** Presses keys, one at a time as a user would (tmux key names: Right, Down, q). */
  press(...keys: string[]): void {
    for (const key of keys) {
      this.tmux('send-keys', key)
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150)
    }
  }

  kill(): void {
    spawnSync('tmux', ['-S', this.socket, 'kill-server'], {env: this.env})
  }
}
