/** Starting, stopping and restarting the language client, one at a time. */
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  ExecuteCommandRequest,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type CloseHandlerResult,
  type LanguageClientOptions,
} from 'vscode-languageclient/node';
import { CheckCache, serverLaunch, serverOptions } from './launch';
import { Commands, isServerStatus, STATUS_NOTIFICATION } from './protocol';
import {
  CHOOSE,
  SHOW_OUTPUT,
  describe,
  ensureServerCanRun,
  openInterpreterSetting,
  resolveInterpreter,
  type Interpreter,
} from './python';
import { ServerStderr, stdioOptions } from './stderr';
import { documentSelector, languageIds, serverSettings, type ServerSettings } from './settings';
import type { StatusBar } from './status';

/** The server settings, for a resource when the server asks about one (`scopeUri`). */
export function currentServerSettings(scopeUri?: string): ServerSettings {
  const config = vscode.workspace.getConfiguration('paperlens', scopeUri ? vscode.Uri.parse(scopeUri) : undefined);
  return serverSettings((key) => config.get(key));
}

function currentLanguages(): string[] {
  return languageIds(vscode.workspace.getConfiguration('paperlens').get('languages'));
}

/** What a running client was started with; a restart is due when one of these changes. */
interface StartKey {
  interpreter: string;
  languages: string;
}

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private started: StartKey | undefined;
  /** Start, stop and restart run one after another in this chain. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set when the last start failed; cleared by an explicit start or restart. */
  private failed = false;
  private clientDisposables: { dispose(): void }[] = [];
  /** The running server's stderr: logged at each line's level, its last lines kept to say why it stopped. */
  private readonly stderr: ServerStderr;
  private readonly checks: CheckCache;
  /** When the running server crashed recently: it is restarted unless that happened too often. */
  private crashes: number[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly statusBar: StatusBar,
  ) {
    this.stderr = new ServerStderr(log);
    this.checks = new CheckCache(context.globalState, { extensionPath: context.extensionPath });
  }

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  /** Starts the server unless it is running. Resolves to whether it runs. */
  start(): Promise<boolean> {
    return this.enqueue(async () => {
      if (this.client !== undefined) return this.running;
      return this.doStart();
    });
  }

  /** Starts the server unless it is running or its last start failed (so that opening files does not nag). */
  startIfIdle(): Promise<boolean> {
    return this.enqueue(async () => {
      if (this.client !== undefined) return this.running;
      if (this.failed) return false;
      return this.doStart();
    });
  }

  /** Stops and starts the server. */
  restart(reason: string): Promise<boolean> {
    return this.enqueue(async () => {
      this.log.info(`Restarting the server: ${reason}`);
      await this.doStop();
      return this.doStart();
    });
  }

  /**
   * Restarts when the interpreter or the attached languages differ from what the client was started with;
   * after a failed start, tries again (the user may have chosen another interpreter).
   */
  restartIfChanged(): Promise<boolean> {
    return this.enqueue(async () => {
      if (this.client === undefined) return this.failed ? this.doStart() : false;
      const key = await this.startKey();
      if (this.started && key.interpreter === this.started.interpreter && key.languages === this.started.languages) {
        return this.running;
      }
      this.log.info('The interpreter or the attached languages changed: restarting the server');
      await this.doStop();
      return this.doStart();
    });
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  /** Forwards the server settings (push), and answers later pulls through the middleware below. */
  async settingsChanged(): Promise<void> {
    if (!this.client || !this.running) return;
    await this.client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { paperlens: currentServerSettings() },
    });
  }

  /** Runs one of the server's `workspace/executeCommand` commands, starting the server if needed. */
  async executeCommand(command: string, args: unknown[] = []): Promise<unknown> {
    if (!(await this.start()) || !this.client) {
      throw new Error('the PaperLens server is not running');
    }
    return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async startKey(interpreter?: Interpreter): Promise<StartKey> {
    const chosen = interpreter ?? (await resolveInterpreter(this.log));
    return { interpreter: chosen.path, languages: currentLanguages().join(',') };
  }

  private async doStart(): Promise<boolean> {
    const interpreter = await resolveInterpreter(this.log);
    this.statusBar.starting(interpreter.path);
    const layout = { extensionPath: this.context.extensionPath };
    this.log.info(`Checking the interpreter ${describe(interpreter)}`);
    const check = await ensureServerCanRun(interpreter, layout, this.log, this.context.globalStorageUri.fsPath, this.checks);
    if (!check) {
      this.failed = true;
      this.statusBar.failed(`The server cannot run with ${describe(interpreter)}.`);
      return false;
    }
    this.failed = false;
    const launch = serverLaunch(interpreter.path, layout);
    const languages = currentLanguages();
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(languages),
      initializationOptions: currentServerSettings(),
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      stdioOptions: stdioOptions(this.stderr),
      errorHandler: {
        error: (_error, _message, count) => ({ action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true }),
        closed: () => this.closed(client),
      },
      middleware: {
        workspace: {
          // The server pulls section "paperlens": answer with exactly what initializationOptions carried,
          // without the client-only settings (interpreter, languages, trace).
          configuration: async (params, token, next) => {
            const answers: unknown = await next(params, token);
            if (!Array.isArray(answers)) return answers as ReturnType<typeof next>;
            return params.items.map((item, i): unknown =>
              item.section === 'paperlens' ? currentServerSettings(item.scopeUri) : answers[i],
            );
          },
        },
      },
    };
    const client: LanguageClient = new LanguageClient('paperlens', 'PaperLens', serverOptions(interpreter.path, layout), clientOptions);
    this.client = client;
    this.stderr.reset();
    this.started = await this.startKey(interpreter);
    this.clientDisposables.push(
      client.onNotification(STATUS_NOTIFICATION, (status: unknown) => {
        if (isServerStatus(status)) this.statusBar.update(status);
      }),
      client.onDidChangeState((event) => {
        if (event.newState === State.Stopped && this.client === client && !this.failed) this.statusBar.stopped();
      }),
    );
    this.log.info(`Starting: ${launch.command} ${launch.args.join(' ')} (PYTHONPATH=${launch.env.PYTHONPATH ?? ''})`);
    try {
      await client.start();
    } catch (error) {
      await this.stderr.drained();
      const lastWords = this.stderr.last(12);
      await this.doStop();
      this.failed = true;
      // The check passed from the cache, yet the server did not start: check again, as if new (the
      // check names a missing package and offers to install it).
      await this.checks.forget(interpreter.path);
      this.reportExit('The server failed to start', lastWords, String(error));
      return false;
    }
    await this.refreshStatus(client);
    return true;
  }

  /** vscode-languageclient's question when the connection to the server closed: restart it, or not. */
  private async closed(client: LanguageClient): Promise<CloseHandlerResult> {
    // Stopped on purpose, or it never started (doStart reports that).
    if (this.client !== client || !this.running) return { action: CloseAction.DoNotRestart, handled: true };
    await this.stderr.drained();
    const lastWords = this.stderr.last(12);
    const now = Date.now();
    this.crashes = [...this.crashes.filter((t) => now - t < 180_000), now];
    if (this.crashes.length <= 3) {
      this.log.warn(`The server stopped (${this.stderr.reason() || 'no message'}); restarting it`);
      this.stderr.reset();
      return { action: CloseAction.Restart, handled: true };
    }
    this.failed = true;
    this.reportExit('The server stopped 4 times in 3 minutes', lastWords);
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  /** Says why the server is not running: in the status bar's tooltip and in a notification, with what to do. */
  private reportExit(what: string, lastWords: string[], fallback = 'it printed nothing'): void {
    const reason = this.stderr.reason() || fallback;
    this.log.error(`${what}: ${reason}`);
    const tail = lastWords.length > 0 ? `\n\nThe server's last words:\n${lastWords.slice(-8).join('\n')}` : '';
    this.statusBar.failed(`${what}: ${reason}${tail}`);
    void vscode.window.showErrorMessage(`PaperLens: ${what}: ${reason}`, SHOW_OUTPUT, CHOOSE).then(async (choice) => {
      if (choice === SHOW_OUTPUT) this.log.show();
      if (choice === CHOOSE) await openInterpreterSetting();
    });
  }

  /** Asks for the status once, in case the server's first notification came before the handler. */
  private async refreshStatus(client: LanguageClient): Promise<void> {
    try {
      const status: unknown = await client.sendRequest(ExecuteCommandRequest.type, { command: Commands.status, arguments: [] });
      if (isServerStatus(status)) this.statusBar.update(status);
    } catch (error) {
      this.log.warn(`paperlens.status failed: ${String(error)}`);
    }
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.started = undefined;
    for (const d of this.clientDisposables) d.dispose();
    this.clientDisposables = [];
    if (!client) return;
    try {
      if (client.needsStop()) await client.stop(5000);
    } catch (error) {
      this.log.warn(`Stopping the server: ${String(error)}`);
    }
    await client.dispose().catch(() => undefined);
  }

  dispose(): void {
    void this.stop();
  }
}

