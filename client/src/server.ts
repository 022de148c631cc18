/** Starting, stopping and restarting the language client, one at a time. */
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type LanguageClientOptions,
} from 'vscode-languageclient/node';
import { serverLaunch, serverOptions } from './launch';
import { Commands, isServerStatus, STATUS_NOTIFICATION } from './protocol';
import { describe, ensureServerCanRun, resolveInterpreter, type Interpreter } from './python';
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

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly statusBar: StatusBar,
  ) {}

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

  /** Restarts when the interpreter or the attached languages differ from what the client was started with. */
  restartIfChanged(): Promise<boolean> {
    return this.enqueue(async () => {
      if (this.client === undefined) return false;
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
    const check = await ensureServerCanRun(interpreter, layout, this.log, this.context.globalStorageUri.fsPath);
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
    const client = new LanguageClient('paperlens', 'PaperLens', serverOptions(interpreter.path, layout), clientOptions);
    this.client = client;
    this.started = await this.startKey(interpreter);
    this.clientDisposables.push(
      client.onNotification(STATUS_NOTIFICATION, (status: unknown) => {
        if (isServerStatus(status)) this.statusBar.update(status);
      }),
      client.onDidChangeState((event) => {
        if (event.newState === State.Stopped && this.client === client) this.statusBar.stopped();
      }),
    );
    this.log.info(`Starting: ${launch.command} ${launch.args.join(' ')} (PYTHONPATH=${launch.env.PYTHONPATH ?? ''})`);
    try {
      await client.start();
    } catch (error) {
      this.log.error(`The server failed to start: ${String(error)}`);
      await this.doStop();
      this.failed = true;
      this.statusBar.failed(`The server failed to start: ${String(error)}`);
      return false;
    }
    await this.refreshStatus(client);
    return true;
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

