/**
 * The extension in a real VS Code: the freshly built dist/paperlens.vsix installed into code-server (VS Code
 * served to a browser), driven in Debian's headless Chromium through playwright-core, on a copy of examples/.
 * Everything is asserted on what the workbench shows (its DOM), as a user would check it, with a screenshot
 * of each step in out/vscode-e2e/.
 *
 * Needs the tools that tests/vscode/setup.sh installs into .tools/ (make test-vscode runs it first); when the
 * setup could not install them (no registry), the test is skipped with its reason. Nothing is written to the
 * user's home: code-server, its extensions, the browser profile and the server's cache live in a temp dir.
 * Every process it starts is killed by process group at the end, also when a step fails.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TOOLS = process.env.PAPERLENS_TOOLS ?? path.join(ROOT, '.tools');
const SHOTS = path.join(ROOT, 'out', 'vscode-e2e');
const VSIX = path.join(ROOT, 'dist', 'paperlens.vsix');
const PYTHON = process.env.PAPERLENS_PYTHON ?? path.join(ROOT, '.venv', 'bin', 'python');

const DRCT_TITLE = 'DRCT: Saving Image Super-resolution away from Information Bottleneck';
const GLOCAL_REPO = 'https://github.com/Muyiiiii/NeurIPS-25-Glocal-IB';
const SERVER_TIMEOUT_MS = 60_000;

/** Why the test cannot run here, or undefined when it can. */
function skipReason() {
  const skip = path.join(TOOLS, 'vscode-e2e.skip');
  if (existsSync(skip)) return `skipped: ${readFileSync(skip, 'utf8').trim()}`;
  if (!existsSync(path.join(TOOLS, 'vscode-e2e.env'))) {
    const why = 'the tools are not installed: run bash tests/vscode/setup.sh (make test-vscode does)';
    if (process.env.CI === 'true') throw new Error(why);
    return `skipped: ${why}`;
  }
  if (!existsSync(VSIX)) throw new Error(`${VSIX} is missing: npm run package builds it`);
  return undefined;
}

function tools() {
  const env = Object.fromEntries(
    readFileSync(path.join(TOOLS, 'vscode-e2e.env'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  return { node: env.PAPERLENS_E2E_NODE, codeServer: env.PAPERLENS_E2E_CODE_SERVER, playwright: env.PAPERLENS_E2E_PLAYWRIGHT };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to its end; rejects with its output when it fails. */
function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

/** Ends a process group we started: TERM, then KILL if it lingers. */
async function killGroup(pid) {
  if (pid === undefined) return;
  const alive = () => {
    try {
      process.kill(-pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/** Resolves once the newest extension host has activated PaperLens (at startup: onStartupFinished). */
async function extensionActivated(userData, after, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const logs = [];
    const walk = (dir) => {
      for (const name of readdirSync(dir)) {
        const p = path.join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/exthost\.log$/.test(name) && statSync(p).birthtimeMs >= after) logs.push(p);
      }
    };
    if (existsSync(path.join(userData, 'logs'))) walk(path.join(userData, 'logs'));
    if (logs.some((log) => /_doActivateExtension paperlens\.paperlens\b/.test(readFileSync(log, 'utf8')))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`PaperLens was not activated within ${timeout} ms`);
}

/** Every PaperLens output channel log that code-server wrote (one per extension host), oldest first. */
function outputLogs(userData) {
  const found = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name === 'PaperLens.log' && p.includes('paperlens.paperlens')) found.push(p);
    }
  };
  if (existsSync(path.join(userData, 'logs'))) walk(path.join(userData, 'logs'));
  return found.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
}

const reason = skipReason();

/** Process groups and the temp dir this test made, cleaned up even when the test runner is interrupted. */
const groups = new Set();
let tmp;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    for (const pid of groups) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  });
}

describe('the extension in real VS Code (code-server + Chromium)', { skip: reason, timeout: 600_000 }, () => {
  let codeServer;
  let codeServerLog = '';
  let browser;
  let chromiumProcess;
  let page;
  let url;
  let userData;
  let workspace;
  /** URLs the browser was asked to load from anywhere but code-server (recorded, then refused). */
  const outside = [];
  const timings = {};

  before(async () => {
    const { node, codeServer: codeServerBin, playwright } = tools();
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    tmp = mkdtempSync(path.join(os.tmpdir(), 'paperlens-vscode-'));
    const home = path.join(tmp, 'home');
    userData = path.join(tmp, 'user-data');
    const extensions = path.join(tmp, 'extensions');
    workspace = path.join(tmp, 'workspace');
    for (const dir of [home, userData, extensions, path.join(userData, 'User'), path.join(userData, 'Machine')]) {
      mkdirSync(dir, { recursive: true });
    }
    // code-server is a remote window: the interpreter, a machine-scoped setting, is read from the remote
    // machine's settings (Remote settings in VS Code's settings editor), not from the user's.
    writeFileSync(path.join(userData, 'Machine', 'settings.json'), JSON.stringify({ 'paperlens.server.python': PYTHON }, null, 2));
    cpSync(path.join(ROOT, 'examples'), workspace, { recursive: true });
    const config = path.join(tmp, 'code-server.yaml');
    writeFileSync(config, 'auth: none\ncert: false\n');
    writeFileSync(
      path.join(userData, 'User', 'settings.json'),
      JSON.stringify(
        {
          'workbench.startupEditor': 'none',
          'workbench.tips.enabled': false,
          'workbench.enableExperiments': false,
          'workbench.secondarySideBar.defaultVisibility': 'hidden',
          'telemetry.telemetryLevel': 'off',
          'extensions.autoCheckUpdates': false,
          'extensions.autoUpdate': false,
          'extensions.ignoreRecommendations': true,
          'update.mode': 'none',
          'security.workspace.trust.enabled': false,
          'chat.disableAIFeatures': true,
        },
        null,
        2,
      ),
    );
    // code-server and everything it starts (extension host, PaperLens server) see this home, never the user's.
    const env = {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      XDG_DATA_HOME: path.join(home, '.local', 'share'),
      XDG_CACHE_HOME: path.join(home, '.cache'),
      PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}`,
    };
    delete env.GITHUB_TOKEN;
    delete env.HF_TOKEN;
    const common = ['--config', config, '--user-data-dir', userData, '--extensions-dir', extensions];
    await run(node, [codeServerBin, ...common, '--install-extension', VSIX], { env });

    const port = await freePort();
    codeServer = spawn(
      node,
      [codeServerBin, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry',
        '--disable-workspace-trust', '--disable-update-check', '--disable-getting-started-override', workspace],
      { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    groups.add(codeServer.pid);
    let timer;
    const listening = new Promise((resolve, reject) => {
      const onData = (d) => {
        codeServerLog += d;
        if (codeServerLog.includes('HTTP server listening on')) resolve();
      };
      codeServer.stdout.on('data', onData);
      codeServer.stderr.on('data', onData);
      codeServer.on('exit', (code) => reject(new Error(`code-server exited ${code}:\n${codeServerLog}`)));
      timer = setTimeout(() => reject(new Error(`code-server did not listen within 60 s:\n${codeServerLog}`)), 60_000);
    });
    await listening.finally(() => clearTimeout(timer));
    url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`;

    // Debian's Chromium (no browser download), started here with a fresh profile, driven over CDP.
    chromiumProcess = spawn(
      '/usr/bin/chromium',
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-crash-reporter', `--user-data-dir=${path.join(tmp, 'chromium')}`,
        '--remote-debugging-port=0', 'about:blank'],
      { env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    groups.add(chromiumProcess.pid);
    let chromiumLog = '';
    const endpoint = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Chromium did not start within 30 s:\n${chromiumLog}`)), 30_000);
      chromiumProcess.stderr.on('data', (d) => {
        chromiumLog += d;
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(chromiumLog);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      chromiumProcess.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Chromium exited ${code}:\n${chromiumLog}`));
      });
    });
    const { chromium } = createRequire(import.meta.url)(playwright);
    browser = await chromium.connectOverCDP(endpoint);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    // Only code-server is reachable: a page VS Code opens outside the editor is recorded, never fetched.
    await context.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, (route) => {
      outside.push(route.request().url());
      return route.abort();
    });
    page = await context.newPage();
    const loaded = Date.now();
    await page.goto(url);
    await page.waitForSelector('.monaco-workbench .part.editor', { timeout: 60_000 });
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });
    // A user opens a file once VS Code has started: its extension host is up and has activated PaperLens.
    await extensionActivated(userData, loaded);
  });

  after(async () => {
    // Keep the extension's log beside the screenshots: it says what happened when a step failed.
    for (const [i, log] of (userData ? outputLogs(userData) : []).entries()) {
      writeFileSync(path.join(SHOTS, `PaperLens-exthost${i + 1}.log`), readFileSync(log));
    }
    if (Object.keys(timings).length > 0) writeFileSync(path.join(SHOTS, 'timings.json'), JSON.stringify(timings, null, 2));
    await browser?.close().catch(() => undefined);
    await killGroup(chromiumProcess?.pid);
    await killGroup(codeServer?.pid);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  async function shot(name) {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }

  async function command(title) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first().waitFor();
    await page.keyboard.press('Enter');
  }

  /** Opens a file from the explorer, as a user clicks it; resolves when its editor has focus. */
  async function openFile(name) {
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first().click();
    await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor();
    await page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor();
    await page.locator('.editor-instance .monaco-editor textarea').first().focus();
  }

  /** Puts the cursor at `line`:`column` (1-based) with Go to Line (Ctrl+G, quick open's ":" mode). */
  async function goto(line, column) {
    await page.keyboard.press('Control+G');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`:${line}:${column}`);
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden' });
  }

  /** Shows the hover at the cursor (Ctrl+K Ctrl+I) until it holds `text`; the server may still be starting. */
  async function hoverUntil(text, timeout = SERVER_TIMEOUT_MS) {
    const hover = page.locator('.monaco-hover:visible', { hasText: text });
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+I');
      try {
        await hover.first().waitFor({ timeout: 400 });
        return hover.first();
      } catch {
        await page.keyboard.press('Escape');
      }
    }
    throw new Error(`no hover with ${JSON.stringify(text)} within ${timeout} ms`);
  }

  /** Opens the suggestions (Ctrl+Space) until they hold `label`. Resolves to the rows' labels, in order. */
  async function suggestUntil(label, timeout = SERVER_TIMEOUT_MS) {
    const deadline = Date.now() + timeout;
    let labels = [];
    while (Date.now() < deadline) {
      await page.keyboard.press('Control+Space');
      try {
        await page.locator('.suggest-widget .monaco-list-row', { hasText: label }).first().waitFor({ timeout: 1500 });
        return page.locator('.suggest-widget .monaco-list-row').evaluateAll((rows) =>
          rows
            .sort((a, b) => Number(a.getAttribute('data-index')) - Number(b.getAttribute('data-index')))
            .map((row) => row.getAttribute('aria-label') ?? row.textContent ?? ''),
        );
      } catch {
        labels = await page.locator('.suggest-widget .monaco-list-row').allInnerTexts();
        await page.keyboard.press('Escape');
      }
    }
    throw new Error(`no suggestion ${JSON.stringify(label)} within ${timeout} ms; last list: ${JSON.stringify(labels)}`);
  }

  /** Opens the code action menu (Ctrl+.) until it holds an action matching `title`. Resolves to all titles. */
  async function codeActionsUntil(title, timeout = SERVER_TIMEOUT_MS) {
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      await page.keyboard.press('Control+.');
      try {
        await page.locator('.action-widget .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 1500 });
        return page.locator('.action-widget .monaco-list-row.action').allInnerTexts();
      } catch {
        await page.keyboard.press('Escape');
      }
    }
    throw new Error(`no code action ${title} within ${timeout} ms`);
  }

  /** The 1-based line and column of `needle` in a workspace file, plus `shift` characters. */
  function at(file, needle, shift = 0) {
    const text = readFileSync(path.join(workspace, file), 'utf8');
    const index = text.indexOf(needle);
    assert.ok(index >= 0, `${needle} not in ${file}`);
    const lines = text.slice(0, index + shift).split('\n');
    return [lines.length, lines[lines.length - 1].length + 1];
  }

  /** Opens `file` and measures the time from the click to the DRCT hover card. */
  async function timeToFirstHover(file, line, column) {
    const start = Date.now();
    console.log(`${new Date(start).toISOString()} opening ${file}`);
    await openFile(file);
    await goto(line, column);
    const card = await hoverUntil(DRCT_TITLE);
    return { ms: Date.now() - start, card };
  }

  it('draft.tex: the hover card on DRCT shows the title, the authors and the repo link', async () => {
    const { ms, card } = await timeToFirstHover('draft.tex', ...at('draft.tex', 'DRCT keeps', 2));
    timings.firstHoverColdMs = ms;
    console.log(`time from opening draft.tex to the first hover card (cold interpreter check): ${ms} ms`);
    const text = await card.innerText();
    assert.match(text, /Chih-Chung Hsu/);
    const repo = card.locator('a', { hasText: 'Code' });
    assert.equal(await repo.first().getAttribute('href'), 'https://github.com/ming053l/DRCT');
    await shot('01-draft-hover-drct');
    await page.keyboard.press('Escape');
  });

  it('draft.tex: \\cite{glo lists the Glocal-IB paper first', async () => {
    await goto(...at('draft.tex', '\\cite{glo', '\\cite{glo'.length));
    const labels = await suggestUntil('glocalib2025');
    await shot('02-draft-cite-completion');
    assert.match(labels[0] ?? '', /glocalib2025/, `the list: ${JSON.stringify(labels.slice(0, 5))}`);
    await page.keyboard.press('Escape');
  });

  it('draft.tex: the code actions at Glocal-IB are Cite, Related and Open on GitHub', async () => {
    await goto(...at('draft.tex', 'Glocal-IB', 3));
    const titles = await codeActionsUntil('on GitHub');
    await shot('03-draft-code-actions-glocal');
    assert.ok(titles.some((t) => /^Cite Glocal-IB \(glocalib2025\)/.test(t)), JSON.stringify(titles));
    assert.ok(titles.some((t) => /^Related: cite /.test(t)), JSON.stringify(titles));
    assert.ok(titles.some((t) => t.includes('Open Muyiiiii/NeurIPS-25-Glocal-IB on GitHub')), JSON.stringify(titles));
  });

  it('draft.tex: "Open … on GitHub" asks to open the repo outside the editor', async () => {
    await page.locator('.action-widget .monaco-list-row', { hasText: 'Open Muyiiiii/NeurIPS-25-Glocal-IB on GitHub' }).click();
    // VS Code asks before it opens a site outside the editor: the dialog names the URL; "Open" opens it in a
    // new browser page, whose request (refused: no network here) is recorded.
    const dialog = page.locator('.monaco-dialog-box', { hasText: 'open the external website' });
    await dialog.waitFor({ timeout: 20_000 });
    await shot('04-draft-open-on-github-dialog');
    assert.ok((await dialog.innerText()).includes(GLOCAL_REPO), await dialog.innerText());
    const popup = page.waitForEvent('popup', { timeout: 20_000 });
    await dialog.locator('a.monaco-button', { hasText: /^Open$/ }).click();
    await popup;
    const deadline = Date.now() + 20_000;
    while (!outside.some((u) => u.replace(/\/$/, '') === GLOCAL_REPO) && Date.now() < deadline) await page.waitForTimeout(100);
    assert.ok(outside.some((u) => u.replace(/\/$/, '') === GLOCAL_REPO), `requests outside code-server: ${JSON.stringify(outside)}`);
  });

  it('notes.md: [@ lists citation keys', async () => {
    await openFile('notes.md');
    await goto(...at('notes.md', 'features [@', 'features [@'.length));
    const labels = await suggestUntil('superglobal2023');
    await shot('05-notes-pandoc-completion');
    assert.match(labels[0] ?? '', /superglobal2023/, `the list: ${JSON.stringify(labels.slice(0, 5))}`);
    await page.keyboard.press('Escape');
  });

  it('train.py: the hover on DRCT shows its card', async () => {
    await openFile('train.py');
    await goto(...at('train.py', 'DRCT(upscale', 2));
    const card = await hoverUntil(DRCT_TITLE);
    assert.match(await card.innerText(), /ming053l\/DRCT/);
    await shot('06-train-py-hover-drct');
    await page.keyboard.press('Escape');
  });

  it('the status bar shows how many papers PaperLens knows', async () => {
    const item = page.locator('.statusbar-item', { hasText: /PaperLens: \d+ papers/ });
    await item.first().waitFor({ timeout: SERVER_TIMEOUT_MS });
    await shot('07-status-bar');
    assert.match(await item.first().innerText(), /PaperLens: \d+ papers/);
  });

  it("the Problems panel lists draft.tex's unknown key", async () => {
    await openFile('draft.tex');
    await page.keyboard.press('Control+Shift+M');
    const problem = page.locator('.markers-panel .monaco-list-row', { hasText: "Unknown citation key 'glo'" });
    await problem.first().waitFor({ timeout: SERVER_TIMEOUT_MS });
    await shot('08-problems-unknown-key');
  });

  it('the PaperLens output channel has no [error] lines', async () => {
    await command('PaperLens: Show Output');
    const view = page.locator('.output-view .view-lines');
    await view.first().waitFor();
    await page.locator('.output-view .view-lines', { hasText: 'Starting:' }).first().waitFor({ timeout: 10_000 });
    await shot('09-output-channel');
    const shown = await view.first().innerText();
    assert.doesNotMatch(shown, /\[error\]/, shown);
    const logs = outputLogs(userData).map((log) => readFileSync(log, 'utf8')).join('\n');
    assert.match(logs, /\[info\] Starting: /);
    assert.doesNotMatch(logs, /\[error\]/, logs);
  });

  it('after a reload the interpreter check comes from the cache, and the first hover card is quicker', async () => {
    await command('View: Close All Editors');
    const reloaded = Date.now();
    await page.reload();
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });
    await extensionActivated(userData, reloaded);
    const { ms } = await timeToFirstHover('draft.tex', ...at('draft.tex', 'DRCT keeps', 2));
    timings.firstHoverWarmMs = ms;
    console.log(`time from opening draft.tex to the first hover card (warm interpreter cache): ${ms} ms`);
    await shot('10-draft-hover-after-reload');
    const logs = outputLogs(userData);
    const last = readFileSync(logs[logs.length - 1], 'utf8');
    assert.match(last, /checked before and unchanged since/, last);
  });
});
