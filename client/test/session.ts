/**
 * An LSP session with the real Python server over stdio, through vscode-languageserver-protocol (what
 * the VS Code client is built on), the server launched the way the extension launches it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ConfigurationRequest,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  LogMessageNotification,
  RegistrationRequest,
  ShowDocumentRequest,
  ShowMessageNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
  createProtocolConnection,
  type InitializeParams,
  type MessageReader,
  type MessageWriter,
  type InitializeResult,
  type ProtocolConnection,
  type ShowDocumentParams,
} from 'vscode-languageserver-protocol/node';
import { serverLaunch } from '../src/launch';
import { STATUS_NOTIFICATION } from '../src/protocol';
import { DEFAULT_SERVER_SETTINGS, type ServerSettings } from '../src/settings';
import { testPython } from './helpers';

const INITIALIZE_TIMEOUT_MS = Number(process.env.PAPERLENS_INIT_TIMEOUT_MS ?? 60_000);

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}

/** A started server: its process and the message streams to it. */
export interface Transport {
  process: ChildProcess;
  reader: MessageReader;
  writer: MessageWriter;
}

/** Starts the server from `extensionPath` in `cwd` and connects to it. */
export type Launcher = (extensionPath: string, cwd: string) => Promise<Transport>;

/** The plain way: spawn `serverLaunch`'s command line and talk over its stdin/stdout. */
export const spawnServer: Launcher = (extensionPath, cwd) => {
  const launch = serverLaunch(testPython(), { extensionPath });
  const server = spawn(launch.command, launch.args, { env: launch.env, cwd, stdio: 'pipe' });
  return Promise.resolve({ process: server, reader: new StreamMessageReader(server.stdout), writer: new StreamMessageWriter(server.stdin) });
};

export class Session {
  readonly connection: ProtocolConnection;
  readonly logs: string[] = [];
  readonly statuses: unknown[] = [];
  readonly shown: ShowDocumentParams[] = [];
  private stderr = '';
  private showDocumentWaiters: ((params: ShowDocumentParams) => void)[] = [];

  private readonly server: ChildProcess;

  private constructor(
    transport: Transport,
    readonly settings: ServerSettings,
    private readonly cacheDir: string,
  ) {
    this.server = transport.process;
    this.server.stderr?.on('data', (chunk: Buffer | string) => {
      this.stderr += chunk.toString();
    });
    this.connection = createProtocolConnection(transport.reader, transport.writer);
    this.connection.onRequest(ConfigurationRequest.type, (params) =>
      params.items.map((item) => (item.section === 'paperlens' ? this.settings : null)),
    );
    this.connection.onRequest(RegistrationRequest.type, () => undefined);
    this.connection.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
    this.connection.onRequest(ShowDocumentRequest.type, (params) => {
      this.shown.push(params);
      for (const waiter of this.showDocumentWaiters.splice(0)) waiter(params);
      return { success: true };
    });
    this.connection.onNotification(LogMessageNotification.type, (params) => {
      this.logs.push(params.message);
    });
    this.connection.onNotification(ShowMessageNotification.type, (params) => {
      this.logs.push(`[showMessage] ${params.message}`);
    });
    this.connection.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
      this.statuses.push(params);
    });
    this.connection.listen();
  }

  /** Starts `python -m paperlens serve` from `extensionPath` and initializes it, offline, with an empty cache. */
  static async start(extensionPath: string, rootPath: string, launcher: Launcher = spawnServer): Promise<Session> {
    const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'paperlens-cache-'));
    const settings: ServerSettings = { ...DEFAULT_SERVER_SETTINGS, offline: true, cacheDir };
    const transport = await launcher(extensionPath, rootPath);
    const server = transport.process;
    const session = new Session(transport, settings, cacheDir);
    const exited = new Promise<never>((_resolve, reject) => {
      server.on('exit', (code) => {
        reject(new Error(`the server exited with ${String(code)} during initialize${session.context()}`));
      });
      server.on('error', reject);
    });
    const root = pathToFileURL(rootPath).href;
    const params: InitializeParams = {
      processId: process.pid,
      clientInfo: { name: 'paperlens-node-test' },
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- still a required field of InitializeParams
      rootUri: root,
      workspaceFolders: [{ uri: root, name: path.basename(rootPath) }],
      initializationOptions: settings,
      capabilities: {
        general: { positionEncodings: ['utf-16'] },
        window: { showDocument: { support: true }, workDoneProgress: true },
        workspace: { configuration: true, applyEdit: true, workspaceEdit: { documentChanges: true } },
        textDocument: {
          hover: { contentFormat: ['markdown', 'plaintext'] },
          completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] } },
          codeAction: {
            codeActionLiteralSupport: {
              codeActionKind: { valueSet: ['', 'quickfix', 'refactor', 'refactor.rewrite', 'source'] },
            },
          },
        },
      },
    };
    const initialize = Promise.race([session.connection.sendRequest(InitializeRequest.type, params), exited]);
    let result: InitializeResult;
    try {
      result = await session.withContext(withTimeout(initialize, INITIALIZE_TIMEOUT_MS, 'initialize'));
    } catch (error) {
      // The caller has no session to close: end the server here, or it keeps the test process alive.
      await session.close();
      throw error;
    }
    assert.ok(result.capabilities.hoverProvider, 'the server offers no hover');
    await session.connection.sendNotification(InitializedNotification.type, {});
    return session;
  }

  /** A request that fails, saying what the server logged, when it takes longer than `ms`. */
  request<R>(method: string, params: unknown, ms = 30_000): Promise<R> {
    return this.withContext(withTimeout(this.connection.sendRequest<R>(method, params), ms, method));
  }

  /** `promise`, its failure completed with what the server logged. */
  private async withContext<T>(promise: Promise<T>): Promise<T> {
    try {
      return await promise;
    } catch (error) {
      throw new Error(`${String(error)}${this.context()}`, { cause: error });
    }
  }

  /** The next `window/showDocument` the server sends. */
  nextShowDocument(): Promise<ShowDocumentParams> {
    return new Promise((resolve) => {
      this.showDocumentWaiters.push(resolve);
    });
  }

  /** Everything the server wrote to stderr so far. */
  get serverStderr(): string {
    return this.stderr;
  }

  /** What the server said, for failure messages. */
  context(): string {
    return `\n--- server stderr ---\n${this.stderr.slice(-4000)}\n--- server messages ---\n${this.logs.slice(-30).join('\n')}`;
  }

  async close(): Promise<void> {
    try {
      await withTimeout(this.connection.sendRequest(ShutdownRequest.type), 5000, 'shutdown');
      await this.connection.sendNotification(ExitNotification.type);
      if (this.server.exitCode === null && this.server.signalCode === null) {
        await withTimeout(new Promise((resolve) => this.server.once('exit', resolve)), 5000, 'the server to exit');
      }
    } catch {
      // Shutdown failed (the test says why); the kill below ends the server.
    }
    if (this.server.exitCode === null && this.server.signalCode === null) {
      const exited = new Promise((resolve) => this.server.once('exit', resolve));
      this.server.kill();
      await withTimeout(exited, 3000, 'the server to end').catch(() => this.server.kill('SIGKILL'));
    }
    this.connection.dispose();
    rmSync(this.cacheDir, { recursive: true, force: true });
  }
}
