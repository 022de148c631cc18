/**
 * The .vsix that `npm run package` makes carries the bundled client, the server's source and the
 * cache/ snapshot in the repository's layout, and nothing else; unpacked, its server starts and
 * serves the snapshot it carries.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExecuteCommandRequest } from 'vscode-languageserver-protocol/node';
import { Commands, isServerStatus } from '../src/protocol';
import { ROOT } from './helpers';
import { Session } from './session';
import { extractZip, zipEntries } from './zip';

const VSIX = process.env.PAPERLENS_VSIX ?? path.join(ROOT, 'dist', 'paperlens.vsix');

/** Files below `dir` (relative to ROOT, '/'-separated) whose names pass `keep`. */
function filesUnder(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(ROOT, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== '__pycache__') walk(child);
      } else if (keep(entry.name)) {
        out.push(child);
      }
    }
  };
  if (existsSync(path.join(ROOT, dir))) walk(dir);
  return out;
}

describe('the .vsix', { timeout: 240_000 }, () => {
  let zip: Buffer;
  let entries: Set<string>;

  before(() => {
    // `make test-node` packages first; on its own this test packages when there is no .vsix yet.
    if (!existsSync(VSIX)) {
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const result = spawnSync(npm, ['run', 'package'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      assert.equal(result.status, 0, `npm run package failed:\n${result.stdout}\n${result.stderr}`);
    }
    zip = readFileSync(VSIX);
    entries = new Set(zipEntries(zip));
  });

  it('carries the manifest, the bundled client and the README for extension users', () => {
    assert.ok(entries.has('extension/package.json'));
    assert.ok(entries.has('extension/dist/extension.js'));
    assert.ok([...entries].some((name) => name.toLowerCase() === 'extension/readme.md'), 'no README');
  });

  it('carries every module of the server and its pyproject.toml (the interpreter check reads its requirements)', () => {
    const modules = filesUnder('server/paperlens', (name) => name.endsWith('.py'));
    assert.ok(modules.includes('server/paperlens/__main__.py'), 'the server has no __main__.py (python -m paperlens)');
    assert.ok(modules.includes('server/paperlens/lsp/server.py'), 'the server has no lsp/server.py');
    const missing = modules.filter((file) => !entries.has(`extension/${file}`));
    assert.deepEqual(missing, [], 'server modules missing from the .vsix');
    assert.ok(entries.has('extension/pyproject.toml'));
  });

  it('carries the cache/ snapshot beside server/, where the server looks for it', () => {
    assert.ok(entries.has('extension/cache/papers.json'), 'cache/papers.json is not in the .vsix');
    assert.ok(entries.has('extension/cache/vectors-mpnet.npz'), "the snapshot's dense vectors are not in the .vsix");
    const snapshot = filesUnder('cache', (name) => name.endsWith('.json') || name.endsWith('.txt') || name.endsWith('.npz'));
    const missing = snapshot.filter((file) => !entries.has(`extension/${file}`));
    assert.deepEqual(missing, []);
  });

  it('leaves out sources, tests, dependencies and caches', () => {
    const unwanted = [...entries].filter((name) =>
      /^extension\/(node_modules|client|tests|bench|\.venv|out|examples|docs)\/|__pycache__|\.pyc$|\.map$|\.ts$/.test(name),
    );
    assert.deepEqual(unwanted, []);
  });

  describe('unpacked', () => {
    let extensionPath: string;
    let session: Session | undefined;

    before(() => {
      extensionPath = mkdtempSync(path.join(os.tmpdir(), 'paperlens-vsix-'));
      extractZip(zip, 'extension/', extensionPath);
    });

    after(async () => {
      await session?.close();
      rmSync(extensionPath, { recursive: true, force: true });
    });

    it('runs its own server, which serves its own snapshot with no network and an empty cache', async () => {
      session = await Session.start(extensionPath, extensionPath);
      const status = await session.request<unknown>(ExecuteCommandRequest.method, { command: Commands.status, arguments: [] });
      assert.ok(isServerStatus(status), `not a status: ${JSON.stringify(status)}${session.context()}`);
      assert.ok(status.papers > 0, `no papers${session.context()}`);
      const snapshot = path.join(extensionPath, 'cache', 'papers.json');
      assert.ok(status.source.includes(snapshot), `papers came from ${status.source}, not from ${snapshot}`);
    });
  });
});
