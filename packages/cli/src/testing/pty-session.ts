// A program on a real pseudo-terminal, driven as a person would: keystrokes in, the screen's
// text out. Uses util-linux `script` (present on Debian and most Linux CI images) to get a
// pty without a native module: `script -qfec CMD /dev/null` runs CMD on a new pty and copies
// our keystrokes to it and its output back.

import { spawn, type ChildProcess } from 'node:child_process'

/** Terminal keys as the bytes a terminal sends. */
export const KEYS = { enter: '\r', up: '\x1b[A', ctrlC: '\x03', ctrlD: '\x04' } as const

/** Removes terminal escape sequences and carriage returns, leaving the text a person reads. */
export function screenText(raw: string): string {
  return raw.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\x1b[()][A-Z0-9]/g, '').replace(/\r/g, '')
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** One program on a pty; see the file comment. */
export class PtySession {
  private raw = ''
  private readonly child: ChildProcess
  /** Resolves with the exit code when the program (and `script`) exits. */
  readonly exited: Promise<number | null>

  /** Starts `argv` on a pty of 120 columns with `env`. */
  constructor(argv: string[], env: NodeJS.ProcessEnv) {
    const cmd = `stty cols 120 rows 40; exec ${argv.map(quote).join(' ')}`
    this.child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stdout!.on('data', (d: Buffer) => (this.raw += d.toString()))
    this.child.stderr!.on('data', (d: Buffer) => (this.raw += d.toString()))
    this.child.stdin!.on('error', () => undefined)
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)))
  }

  /** Everything shown so far, as text. */
  get screen(): string {
    return screenText(this.raw)
  }

  /** Sends keystrokes. */
  type(keys: string): void {
    this.child.stdin!.write(keys)
  }

  /** Waits until the screen after `from` (an offset into {@link screen}) matches `pattern`; returns the match's end offset. */
  async waitFor(pattern: RegExp, from = 0, timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const text = this.screen.slice(from)
      const m = pattern.exec(text)
      if (m) return from + m.index + m[0].length
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} on the screen; after offset ${from} it shows:\n${text}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Kills the session (SIGKILL to `script`; the program loses its terminal and gets SIGHUP). */
  kill(): void {
    this.child.kill('SIGKILL')
  }
}
