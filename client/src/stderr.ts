/**
 * The server's stderr, read line by line: each line goes to the output channel at its real level (the
 * server's log lines name their level; vscode-languageclient would log every stderr line as an error), and
 * the last lines are kept to say why the server stopped. Node only (no VS Code), so the Node tests use it.
 */
import * as readline from 'node:readline';

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** A log line of the server: `2026-11-29 00:42:17,123 WARNING pygls.protocol: …` or `WARNING: …`. */
const LOG_LINE = /^(?:\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)? )?(DEBUG|INFO|WARNING|ERROR|CRITICAL)(?::? )(.*)$/;
/** What Python's `warnings` module prints: `…/x.py:12: DeprecationWarning: …`. */
const PY_WARNING = /\b[A-Z][A-Za-z]*Warning: /;

const LEVELS: Record<string, Level> = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'error' };

/** Where the lines go: a vscode.LogOutputChannel has these methods. */
export type LineSink = Record<Level, (message: string) => void>;

export class ServerStderr {
  private lines: string[] = [];
  /** The level of the last log line: a traceback or a wrapped message that follows it keeps that level. */
  private current: Level | undefined;
  /** Whether a server's stderr is open; callers waiting for its last lines wait for it to close. */
  private open = false;
  private closeWaiters: (() => void)[] = [];

  constructor(
    private readonly sink: LineSink,
    private readonly keep = 40,
  ) {}

  /** Forgets what an earlier server process wrote. */
  reset(): void {
    this.lines = [];
    this.current = undefined;
  }

  /** Logs one stderr line at its level, and keeps it. */
  line(text: string): void {
    if (text.trim() === '') return;
    this.lines.push(text);
    if (this.lines.length > this.keep) this.lines.splice(0, this.lines.length - this.keep);
    const m = LOG_LINE.exec(text);
    let level: Level;
    let message = text;
    if (m) {
      level = LEVELS[m[1] ?? ''] ?? 'info';
      message = m[2] ?? '';
      this.current = level;
    } else if (PY_WARNING.test(text)) {
      level = 'warn';
    } else {
      // Not a log line: a traceback or a message printed before logging was set up ("paperlens: error: …").
      level = this.current ?? 'error';
    }
    this.sink[level](message);
  }

  /** A server's stderr is being read. */
  opened(): void {
    this.open = true;
  }

  /** A server's stderr ended: everything it wrote has been read. */
  closed(): void {
    this.open = false;
    for (const resolve of this.closeWaiters.splice(0)) resolve();
  }

  /** Resolves once the stderr being read has ended (all of a dead server's last words are in), or after `ms`. */
  drained(ms = 2000): Promise<void> {
    if (!this.open) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The last `n` lines the server wrote to stderr. */
  last(n: number): string[] {
    return this.lines.slice(-n);
  }

  /**
   * Why the server stopped, in a line or two: the last error-level lines, else the last lines. For a
   * Python traceback that is its final line, the exception.
   */
  reason(maxChars = 300): string {
    const lines = this.lines.map((line) => line.trim()).filter((line) => line !== '');
    if (lines.length === 0) return '';
    const last = lines[lines.length - 1] ?? '';
    const text = /^Traceback|^File "|^\^/.test(last) ? lines.slice(-2).join(' ') : last;
    return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
  }
}

/** vscode-languageclient's `stdioOptions`: stderr through `stderr`, stdout (unused by an LSP over stdio) ignored. */
export function stdioOptions(stderr: ServerStderr): {
  stdout: (input: NodeJS.ReadableStream) => void;
  stderr: (input: NodeJS.ReadableStream) => void;
} {
  return {
    stdout: () => undefined,
    stderr: (input) => {
      stderr.opened();
      readline
        .createInterface({ input, crlfDelay: Infinity, terminal: false })
        .on('line', (line) => {
          stderr.line(line);
        })
        .on('close', () => {
          stderr.closed();
        });
    },
  };
}
