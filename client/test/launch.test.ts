import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  CheckCache,
  assess,
  checkInterpreter,
  commandLine,
  expandPath,
  installLaunch,
  isExternallyManaged,
  parseCheck,
  serverEnv,
  serverLaunch,
  shellQuote,
  venvRecipe,
  type CheckResult,
} from '../src/launch';
import { ROOT, testPython } from './helpers';

const ok: CheckResult = { version: [3, 11, 7], executable: '/usr/bin/python3', unmet: [], error: null, server: '/x/cli.py' };

describe('interpreter check', () => {
  it('parses the last line of the check output', () => {
    const result = parseCheck('noise\n{"version": [3, 12, 1], "executable": "/p", "unmet": ["pygls>=2.1,<3"], "error": null, "server": null}\n');
    assert.ok(!(result instanceof Error));
    assert.deepEqual(result.version, [3, 12, 1]);
    assert.deepEqual(result.unmet, ['pygls>=2.1,<3']);
    assert.ok(parseCheck('Traceback ...') instanceof Error);
    assert.ok(parseCheck('{"version": "3.11"}') instanceof Error);
  });

  it('says which problem comes first', () => {
    assert.equal(assess(ok, 'python3').kind, 'ready');
    const old = assess({ ...ok, version: [3, 9, 18] }, 'python3');
    assert.equal(old.kind, 'too-old');
    assert.match('message' in old ? old.message : '', /3\.11 or newer; python3 is Python 3\.9\.18/);
    assert.equal(assess({ ...ok, version: [4, 0, 0] }, 'p').kind, 'ready');
    const unmet = assess({ ...ok, unmet: ['numpy>=1.26'] }, 'python3');
    assert.equal(unmet.kind, 'unmet');
    assert.equal(assess({ ...ok, error: 'ImportError: x' }, 'python3').kind, 'broken');
  });

  it('runs against a real interpreter and the real pyproject.toml', async () => {
    const result = await checkInterpreter(testPython(), { extensionPath: ROOT });
    if (result instanceof Error) assert.fail(result.message);
    assert.ok(result.version[0] >= 3);
    assert.ok(Array.isArray(result.unmet));
  });

  it('reports unmet requirements from pyproject.toml', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'paperlens-check-'));
    writeFileSync(
      path.join(dir, 'pyproject.toml'),
      '[project]\nname = "x"\ndependencies = ["surely-not-installed-paperlens-dep>=1", "pip>=1"]\n',
    );
    const result = await checkInterpreter(testPython(), { extensionPath: dir });
    if (result instanceof Error) assert.fail(result.message);
    if (result.version[1] >= 11) assert.deepEqual(result.unmet, ['surely-not-installed-paperlens-dep>=1']);
  });

  it('names an interpreter that does not exist', async () => {
    const result = await checkInterpreter('/nonexistent/python3', { extensionPath: ROOT });
    assert.ok(result instanceof Error);
    assert.match(result.message, /not found: \/nonexistent\/python3/);
  });
});

describe('server launch', () => {
  it('runs `python -m paperlens serve` with the bundled source first on PYTHONPATH', () => {
    const ext = mkdtempSync(path.join(os.tmpdir(), 'paperlens-ext-'));
    mkdirSync(path.join(ext, 'server', 'paperlens'), { recursive: true });
    const launch = serverLaunch('/venv/bin/python', { extensionPath: ext }, { PYTHONPATH: '/elsewhere', HOME: '/home/u' });
    assert.equal(launch.command, '/venv/bin/python');
    assert.deepEqual(launch.args, ['-m', 'paperlens', 'serve']);
    assert.equal(launch.env.PYTHONPATH, `${path.join(ext, 'server')}${path.delimiter}/elsewhere`);
    assert.equal(launch.env.HOME, '/home/u');
  });

  it('leaves PYTHONPATH alone when the extension carries no server source', () => {
    const env = serverEnv({ extensionPath: mkdtempSync(path.join(os.tmpdir(), 'paperlens-ext-')) }, {});
    assert.equal(env.PYTHONPATH, undefined);
  });
});

describe('commands shown to the user', () => {
  it('quotes what a shell would split', () => {
    assert.equal(shellQuote('pygls>=2.1,<3', 'linux'), "'pygls>=2.1,<3'");
    assert.equal(shellQuote('/usr/bin/python3', 'linux'), '/usr/bin/python3');
    assert.equal(shellQuote("it's", 'linux'), `'it'\\''s'`);
    assert.equal(shellQuote('C:\\Program Files\\py.exe', 'win32'), '"C:\\Program Files\\py.exe"');
  });

  it('installs the unmet requirements with pip', () => {
    assert.equal(
      commandLine(installLaunch('/usr/bin/python3', ['numpy>=1.26', 'tqdm>=4.60']), 'linux'),
      "/usr/bin/python3 -m pip install 'numpy>=1.26' 'tqdm>=4.60'",
    );
  });

  it('offers a venv when the OS manages the interpreter', () => {
    assert.ok(isExternallyManaged('error: externally-managed-environment\n\n× This environment is externally managed'));
    assert.deepEqual(venvRecipe('python3', '/s/venv', ['tqdm>=4.60'], 'linux'), [
      'python3 -m venv /s/venv',
      "/s/venv/bin/python -m pip install 'tqdm>=4.60'",
    ]);
  });

  it('expands ~ and ${workspaceFolder} in the interpreter setting', () => {
    assert.equal(expandPath('~/venv/bin/python', undefined, '/home/u'), path.join('/home/u', 'venv/bin/python'));
    assert.equal(expandPath('${workspaceFolder}/.venv/bin/python', '/w', '/home/u'), '/w/.venv/bin/python');
    assert.equal(expandPath(' python3 ', undefined, '/home/u'), 'python3');
  });
});

describe('the interpreter check cache', () => {
  /** globalState's shape, in memory. */
  function memento(): { get(key: string): unknown; update(key: string, value: unknown): Promise<void> } {
    const values = new Map<string, unknown>();
    return {
      get: (key) => values.get(key),
      update: (key, value) => {
        values.set(key, JSON.parse(JSON.stringify(value)));
        return Promise.resolve();
      },
    };
  }

  it('returns a passed check until a package is installed or removed', async () => {
    const real = await checkInterpreter(testPython(), { extensionPath: ROOT });
    if (real instanceof Error) assert.fail(real.message);
    assert.ok((real.sitePackages ?? []).length > 0, `no site-packages reported: ${JSON.stringify(real)}`);
    // A site-packages directory of its own, so that "installing" into it is harmless.
    const site = mkdtempSync(path.join(os.tmpdir(), 'paperlens-site-'));
    const result: CheckResult = { ...real, sitePackages: [site] };
    const cache = new CheckCache(memento(), { extensionPath: ROOT });
    assert.equal(await cache.get(testPython()), undefined);
    await cache.set(testPython(), result);
    assert.deepEqual(await cache.get(testPython()), result);
    assert.equal(await cache.get('/other/python3'), undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    mkdirSync(path.join(site, 'newpkg-1.0.dist-info'));
    assert.equal(await cache.get(testPython()), undefined, 'still cached after a package was installed');
    await cache.set(testPython(), result);
    assert.ok(await cache.get(testPython()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    rmdirSync(path.join(site, 'newpkg-1.0.dist-info'));
    assert.equal(await cache.get(testPython()), undefined, 'still cached after a package was removed');
    await cache.set(testPython(), result);
    await cache.forget(testPython());
    assert.equal(await cache.get(testPython()), undefined);
  });

  it('caches nothing for an interpreter that is not there', async () => {
    const cache = new CheckCache(memento(), { extensionPath: ROOT });
    await cache.set('/nonexistent/python3', ok);
    assert.equal(await cache.get('/nonexistent/python3'), undefined);
  });
});
