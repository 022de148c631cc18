/** Activation: the output channel, the status bar, the commands, and the server's lifecycle. */
import * as vscode from 'vscode';
import { registerCommands } from './commands';
import { debounce } from './debounce';
import { onDidChangePythonEnvironment } from './python';
import { ServerManager } from './server';
import { languageIds } from './settings';
import { StatusBar } from './status';

const RESTART_DELAY_MS = 1000;

let server: ServerManager | undefined;

function isPaperLensDocument(document: vscode.TextDocument): boolean {
  if (document.uri.scheme !== 'file' && document.uri.scheme !== 'untitled') return false;
  return languageIds(vscode.workspace.getConfiguration('paperlens').get('languages')).includes(document.languageId);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('PaperLens', { log: true });
  const statusBar = new StatusBar();
  const manager = new ServerManager(context, log, statusBar);
  server = manager;
  context.subscriptions.push(log, statusBar, manager, ...registerCommands(manager, log));

  // A new interpreter (or new languages to attach to) needs a new server; settings alone do not.
  // Typing a path in the settings editor fires a change per keystroke, hence the debounce.
  const restartSoon = debounce(() => void manager.restartIfChanged(), RESTART_DELAY_MS);
  context.subscriptions.push(
    { dispose: () => { restartSoon.cancel(); } },
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration('paperlens')) return;
      if (event.affectsConfiguration('paperlens.server.python') || event.affectsConfiguration('paperlens.languages')) {
        restartSoon();
      }
      void manager.settingsChanged();
    }),
    await onDidChangePythonEnvironment(() => {
      if (vscode.workspace.getConfiguration('paperlens').get<string>('server.python', '').trim() === '') restartSoon();
    }),
  );

  // Activation also happens at startup (for languages added in settings); start the server only once
  // a document it serves is open.
  if (vscode.workspace.textDocuments.some(isPaperLensDocument)) {
    void manager.startIfIdle();
  } else {
    const waiting = vscode.workspace.onDidOpenTextDocument((document) => {
      if (!isPaperLensDocument(document)) return;
      waiting.dispose();
      void manager.startIfIdle();
    });
    context.subscriptions.push(waiting);
  }
}

export async function deactivate(): Promise<void> {
  await server?.stop();
  server = undefined;
}
