import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { ServerStderr, stdioOptions, type Level } from '../src/stderr';

function recorder(): { lines: [Level, string][]; stderr: ServerStderr } {
  const lines: [Level, string][] = [];
  const at = (level: Level) => (message: string) => {
    lines.push([level, message]);
  };
  return { lines, stderr: new ServerStderr({ trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }) };
}

describe("the server's stderr", () => {
  it('logs each log line at its own level, without the level and time the output channel adds itself', () => {
    const { lines, stderr } = recorder();
    stderr.line('2026-11-29 00:35:18,247 INFO pygls.server: Starting async IO server');
    stderr.line('2026-11-29 00:35:19,001 WARNING pygls.protocol: Cancel notification for unknown message id "7"');
    stderr.line('DEBUG: from the CLI format');
    stderr.line('2026-11-29 00:35:20,002 ERROR paperlens.server: refresh failed');
    stderr.line('Traceback (most recent call last):');
    stderr.line('  File "x.py", line 1, in <module>');
    stderr.line('OSError: disk full');
    stderr.line('');
    assert.deepEqual(lines, [
      ['info', 'pygls.server: Starting async IO server'],
      ['warn', 'pygls.protocol: Cancel notification for unknown message id "7"'],
      ['debug', 'from the CLI format'],
      ['error', 'paperlens.server: refresh failed'],
      ['error', 'Traceback (most recent call last):'],
      ['error', '  File "x.py", line 1, in <module>'],
      ['error', 'OSError: disk full'],
    ]);
  });

  it('lines before any log line are errors, except Python warnings', () => {
    const { lines, stderr } = recorder();
    stderr.line('/venv/lib/python3.11/site-packages/x.py:3: DeprecationWarning: old');
    stderr.line('paperlens: error: unrecognized arguments: --stdio');
    assert.deepEqual(lines.map(([level]) => level), ['warn', 'error']);
  });

  it('gives the reason the server stopped: the last line, and keeps only the last lines', () => {
    const { stderr } = recorder();
    for (let i = 0; i < 100; i++) stderr.line(`2026-11-29 00:00:00,000 INFO x: line ${i}`);
    stderr.line('Traceback (most recent call last):');
    stderr.line("ModuleNotFoundError: No module named 'pygls'");
    assert.equal(stderr.reason(), "ModuleNotFoundError: No module named 'pygls'");
    assert.equal(stderr.last(3)[0], '2026-11-29 00:00:00,000 INFO x: line 99');
    assert.ok(stderr.last(1000).length <= 40);
    stderr.reset();
    assert.equal(stderr.reason(), '');
  });

  it('reads a stream line by line and knows when it ended', async () => {
    const { lines, stderr } = recorder();
    const input = new PassThrough();
    stdioOptions(stderr).stderr(input);
    input.write('2026-11-29 00:00:00,000 WARNING a: one\npartial');
    input.end(' line\n');
    await stderr.drained(5000);
    assert.deepEqual(lines, [['warn', 'a: one'], ['warn', 'partial line']]);
  });
});
