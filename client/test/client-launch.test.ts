/**
 * The server started the way VS Code starts it: the ServerOptions the extension builds, handed to
 * vscode-languageclient's own LanguageClient, which turns them into a command line and a process
 * (appending transport flags such as `--stdio` on the way). A server that rejects that command line
 * fails here, as it failed in VS Code ("unrecognized arguments: --stdio").
 *
 * vscode-languageclient needs the `vscode` module to load; outside VS Code the test gives it a stand-in
 * that knows only what the client reads while it launches (the version, the workspace folder). The
 * launch itself (argument list, working directory, spawn, stdio streams) is the library's real code.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import type { Executable, LanguageClient, MessageTransports } from 'vscode-languageclient/node';
import { DidOpenTextDocumentNotification, HoverRequest, type Hover } from 'vscode-languageserver-protocol/node';
import { serverOptions } from '../src/launch';
import { ServerStderr, stdioOptions, type Level } from '../src/stderr';
import { ROOT, testPython } from './helpers';
import { Session, type Launcher } from './session';

const DRCT_TITLE = 'DRCT: Saving Image Super-resolution away from Information Bottleneck';

/** The folder VS Code has open; vscode-languageclient runs the server there. */
let workspaceFolder = ROOT;

class StandIn {
  readonly standIn = true;
}

/** What vscode-languageclient reads from `vscode` while it loads and launches a server. Anything else it
 * touches at load time (classes it extends, enums) gets an empty class, so that a read outside the launch
 * path shows up as a failure rather than a silent value. */
const vscodeStandIn = new Proxy(
  {},
  {
    get(_target, name) {
      if (name === 'version') return '1.91.0';
      if (name === 'workspace') {
        return { workspaceFolders: [{ uri: { scheme: 'file', fsPath: workspaceFolder } }] };
      }
      // An ES module: `__importStar(require('vscode'))` then uses this object as it is.
      if (name === '__esModule') return true;
      return StandIn;
    },
  },
);

interface ModuleLoader {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
}

/** vscode-languageclient/node, loaded from node_modules (not bundled) with `vscode` resolved to the stand-in. */
function loadLanguageClient(): typeof import('vscode-languageclient/node') {
  const loader = Module as unknown as ModuleLoader;
  const load = loader._load.bind(loader);
  loader._load = (request, parent, isMain) => (request === 'vscode' ? vscodeStandIn : load(request, parent, isMain));
  try {
    const required: unknown = createRequire(path.join(ROOT, 'package.json'))('vscode-languageclient/node');
    return required as typeof import('vscode-languageclient/node');
  } finally {
    loader._load = load;
  }
}

/** A silent output channel: the client logs the server's stderr lines into it. */
function outputChannel(lines: string[]): unknown {
  const record = (level: string) => (message: string) => {
    lines.push(`[${level}] ${message}`);
  };
  return {
    name: 'PaperLens',
    logLevel: 2,
    trace: record('trace'),
    debug: record('debug'),
    info: record('info'),
    warn: record('warning'),
    error: record('error'),
    append: record('append'),
    appendLine: record('append'),
    replace: () => undefined,
    clear: () => undefined,
    show: () => undefined,
    hide: () => undefined,
    dispose: () => undefined,
    onDidChangeLogLevel: () => ({ dispose: () => undefined }),
  };
}

/**
 * Starts the server through LanguageClient's own launch code (the `createMessageTransports` that
 * `LanguageClient.start()` calls) from the ServerOptions given. The client object is made without its
 * constructor, which wires up editor features that need the real `vscode`; the launch needs only the
 * fields set here.
 */
function throughLanguageClient(options: Executable, stderr: ServerStderr): Launcher & { process?: ChildProcess } {
  const launcher: Launcher & { process?: ChildProcess } = async (_extensionPath: string, cwd: string) => {
    workspaceFolder = cwd;
    const { LanguageClient: Client, RevealOutputChannelOn } = loadLanguageClient();
    const channel = outputChannel([]);
    const client = Object.create(Client.prototype) as LanguageClient;
    Object.assign(client, {
      _serverOptions: options,
      _forceDebug: false,
      _outputChannel: channel,
      _clientOptions: { revealOutputChannelOn: RevealOutputChannelOn.Never },
      // What the extension gives LanguageClient for the server's stderr.
      _stdioOptions: stdioOptions(stderr),
    });
    const transports = await (client as unknown as { createMessageTransports(encoding: string): Promise<MessageTransports> }).createMessageTransports(
      'utf-8',
    );
    const process = client.serverProcess;
    assert.ok(process, 'LanguageClient started no process');
    launcher.process = process;
    return { process, reader: transports.reader, writer: transports.writer };
  };
  return launcher;
}

/** An output channel's log methods, recording `[level] message`. */
function sink(lines: string[]): Record<Level, (message: string) => void> {
  const at = (level: Level) => (message: string) => {
    lines.push(`[${level}] ${message}`);
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function workspace(): { root: string; uri: string; text: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'paperlens-client-launch-'));
  cpSync(path.join(ROOT, 'examples'), root, { recursive: true });
  const file = path.join(root, 'draft.tex');
  return { root, uri: pathToFileURL(file).href, text: readFileSync(file, 'utf8') };
}

async function hoverOnDrct(session: Session, doc: { uri: string; text: string }): Promise<string> {
  await session.connection.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri: doc.uri, languageId: 'latex', version: 1, text: doc.text },
  });
  const before = doc.text.slice(0, doc.text.indexOf('DRCT') + 2).split('\n');
  const hover = await session.request<Hover | null>(HoverRequest.method, {
    textDocument: { uri: doc.uri },
    position: { line: before.length - 1, character: (before[before.length - 1] ?? '').length },
  });
  const contents = hover?.contents;
  return contents !== undefined && typeof contents === 'object' && 'value' in contents ? contents.value : '';
}

describe('the server launched by vscode-languageclient', { timeout: 180_000 }, () => {
  const doc = workspace();
  after(() => {
    rmSync(doc.root, { recursive: true, force: true });
  });

  it("starts from the extension's ServerOptions and answers a hover; its log lines keep their level", async () => {
    const channel: string[] = [];
    // INFO: the server's ordinary log lines, which must not reach the output channel as errors.
    const options = serverOptions(testPython(), { extensionPath: ROOT }, { ...process.env, PAPERLENS_LOG: 'INFO' });
    const launcher = throughLanguageClient(options, new ServerStderr(sink(channel)));
    const session = await Session.start(ROOT, doc.root, launcher);
    try {
      const hover = await hoverOnDrct(session, doc);
      assert.ok(hover.replace(/\\(.)/g, '$1').includes(DRCT_TITLE), `hover was:\n${hover}${session.context()}`);
    } finally {
      await session.close();
    }
    // pygls logs these at INFO on stderr: they must reach the channel as [info], not as [error]
    assert.ok(channel.some((line) => line.startsWith('[info] pygls.protocol.language_server: Language server initialized')), channel.join('\n'));
    assert.deepEqual(channel.filter((line) => line.startsWith('[error]')), [], 'lines logged as errors');
  });

  it('also accepts the --stdio that vscode-languageclient appends for TransportKind.stdio', async () => {
    const { TransportKind } = loadLanguageClient();
    const options: Executable = { ...serverOptions(testPython(), { extensionPath: ROOT }), transport: TransportKind.stdio };
    const launcher = throughLanguageClient(options, new ServerStderr(sink([])));
    const session = await Session.start(ROOT, doc.root, launcher);
    try {
      assert.deepEqual(launcher.process?.spawnargs.slice(-2), ['serve', '--stdio']);
      const hover = await hoverOnDrct(session, doc);
      assert.ok(hover.replace(/\\(.)/g, '$1').includes(DRCT_TITLE), `hover was:\n${hover}${session.context()}`);
    } finally {
      await session.close();
    }
  });

  it('a server that cannot start says why: its last stderr line is the reason', async () => {
    const lines: string[] = [];
    const stderr = new ServerStderr(sink(lines));
    const good = serverOptions(testPython(), { extensionPath: ROOT });
    const options: Executable = { ...good, args: [...(good.args ?? []), '--pipe=/tmp/paperlens-test.sock'] };
    await assert.rejects(Session.start(ROOT, doc.root, throughLanguageClient(options, stderr)));
    await stderr.drained();
    assert.match(stderr.reason(), /^paperlens: serve: --pipe is not supported; PaperLens speaks LSP over stdio/);
    assert.deepEqual(lines, [`[error] ${stderr.reason()}`]);
  });
});
