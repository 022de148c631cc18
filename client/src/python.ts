/** Which Python runs the server, and making sure it can. */
import * as path from 'node:path';
import { PythonExtension } from '@vscode/python-extension';
import * as vscode from 'vscode';
import {
  assess,
  checkInterpreter,
  commandLine,
  defaultPython,
  expandPath,
  installLaunch,
  isExternallyManaged,
  run,
  venvRecipe,
  type CheckCache,
  type CheckResult,
  type ServerLayout,
} from './launch';

const PYTHON_EXTENSION_ID = 'ms-python.python';

export type InterpreterSource = 'setting' | 'python-extension' | 'path';

export interface Interpreter {
  path: string;
  source: InterpreterSource;
}

function describeSource(source: InterpreterSource): string {
  switch (source) {
    case 'setting':
      return 'the setting paperlens.server.python';
    case 'python-extension':
      return "the Python extension's active environment";
    case 'path':
      return 'PATH';
  }
}

export function describe(interpreter: Interpreter): string {
  return `${interpreter.path} (from ${describeSource(interpreter.source)})`;
}

function hasPythonExtension(): boolean {
  return vscode.extensions.getExtension(PYTHON_EXTENSION_ID) !== undefined;
}

async function pythonExtensionInterpreter(resource: vscode.Uri | undefined, log: vscode.LogOutputChannel): Promise<string | undefined> {
  if (!hasPythonExtension()) return undefined;
  try {
    const api = await PythonExtension.api();
    const active = api.environments.getActiveEnvironmentPath(resource);
    const resolved = await api.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath;
  } catch (error) {
    log.warn(`The Python extension did not name an interpreter: ${String(error)}`);
    return undefined;
  }
}

/** The setting, else the Python extension's active environment, else `python3` on PATH. */
export async function resolveInterpreter(log: vscode.LogOutputChannel): Promise<Interpreter> {
  const resource = vscode.window.activeTextEditor?.document.uri ?? vscode.workspace.workspaceFolders?.[0]?.uri;
  const configured = vscode.workspace.getConfiguration('paperlens', resource).get<string>('server.python', '').trim();
  if (configured !== '') {
    const folder = resource ? vscode.workspace.getWorkspaceFolder(resource)?.uri.fsPath : undefined;
    return { path: expandPath(configured, folder), source: 'setting' };
  }
  const fromExtension = await pythonExtensionInterpreter(resource, log);
  if (fromExtension) return { path: fromExtension, source: 'python-extension' };
  return { path: defaultPython(), source: 'path' };
}

/** Calls `listener` when the Python extension's active environment changes (when that extension is installed). */
export async function onDidChangePythonEnvironment(listener: () => void): Promise<vscode.Disposable> {
  if (!hasPythonExtension()) return new vscode.Disposable(() => undefined);
  try {
    const api = await PythonExtension.api();
    return api.environments.onDidChangeActiveEnvironmentPath(() => {
      listener();
    });
  } catch {
    return new vscode.Disposable(() => undefined);
  }
}

const INSTALL = 'Install';
const COPY = 'Copy Command';
export const CHOOSE = 'Choose Interpreter';
export const SHOW_OUTPUT = 'Show Output';

/**
 * The user's answer to a notification, or undefined as soon as the interpreter setting changes: a start that
 * waits on a question about the old interpreter must not hold up the restart with the new one.
 */
async function answer<T>(question: Thenable<T | undefined>): Promise<T | undefined> {
  let listener: vscode.Disposable | undefined;
  const changed = new Promise<undefined>((resolve) => {
    listener = vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('paperlens.server.python')) resolve(undefined);
    });
  });
  try {
    return await Promise.race([question, changed]);
  } finally {
    listener?.dispose();
  }
}

export async function openInterpreterSetting(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.openSettings', 'paperlens.server.python');
}

/** Installs the unmet requirements into `python` with pip, its output going to the log. */
async function install(python: string, unmet: readonly string[], log: vscode.LogOutputChannel, venvDir: string): Promise<boolean> {
  const launch = installLaunch(python, unmet);
  log.info(`Running: ${commandLine(launch)}`);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'PaperLens: installing the server\'s Python packages', cancellable: true },
    (_progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => {
        abort.abort();
      });
      return run(launch, { onOutput: (chunk) => { log.info(chunk.trimEnd()); }, signal: abort.signal });
    },
  );
  if (result.code === 0) return true;
  const output = result.stdout + result.stderr;
  if (isExternallyManaged(output)) {
    const recipe = venvRecipe(python, venvDir, unmet);
    log.error(`pip refused to install into ${python}, which the OS manages. Make an environment for PaperLens:\n  ${recipe.join('\n  ')}`);
    const choice = await vscode.window.showErrorMessage(
      `${python} is managed by your OS, so pip won't install into it. Create an environment for PaperLens (commands in the output), then set "paperlens.server.python" to its interpreter.`,
      COPY,
      CHOOSE,
      SHOW_OUTPUT,
    );
    if (choice === COPY) await vscode.env.clipboard.writeText(recipe.join('\n'));
    if (choice === CHOOSE) await openInterpreterSetting();
    if (choice === SHOW_OUTPUT) log.show();
    return false;
  }
  const why = result.spawnError?.message ?? `pip exited with ${String(result.code)}`;
  const choice = await vscode.window.showErrorMessage(`PaperLens: installing the server's packages failed (${why}).`, SHOW_OUTPUT);
  if (choice === SHOW_OUTPUT) log.show();
  return false;
}

/**
 * Checks that `interpreter` can run the server (Python >= 3.11, requirements met, server importable)
 * and, when it lacks packages, offers to install them. Resolves to the check result when the server
 * can start, else to undefined after telling the user what to do. A check that passed before is taken from
 * `cache` while the interpreter and its packages are unchanged.
 */
export async function ensureServerCanRun(
  interpreter: Interpreter,
  layout: ServerLayout,
  log: vscode.LogOutputChannel,
  storageDir: string,
  cache?: CheckCache,
): Promise<CheckResult | undefined> {
  const cached = await cache?.get(interpreter.path);
  if (cached !== undefined) {
    log.info(`Interpreter ${describe(interpreter)}: Python ${cached.version.join('.')}, checked before and unchanged since`);
    return cached;
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    const result = await checkInterpreter(interpreter.path, layout);
    if (result instanceof Error) {
      log.error(`${result.message} (interpreter from ${describeSource(interpreter.source)})`);
      const choice = await answer(vscode.window.showErrorMessage(`PaperLens: ${result.message}`, CHOOSE, SHOW_OUTPUT));
      if (choice === CHOOSE) await openInterpreterSetting();
      if (choice === SHOW_OUTPUT) log.show();
      return undefined;
    }
    log.info(`Interpreter ${describe(interpreter)}: Python ${result.version.join('.')} at ${result.executable}`);
    const verdict = assess(result, interpreter.path);
    switch (verdict.kind) {
      case 'ready':
        log.info(`Server source: ${result.server ?? 'unknown'}`);
        await cache?.set(interpreter.path, result);
        return result;
      case 'too-old': {
        log.error(verdict.message);
        const choice = await answer(vscode.window.showErrorMessage(verdict.message, CHOOSE));
        if (choice === CHOOSE) await openInterpreterSetting();
        return undefined;
      }
      case 'broken': {
        log.error(verdict.message);
        const choice = await answer(vscode.window.showErrorMessage(verdict.message, SHOW_OUTPUT));
        if (choice === SHOW_OUTPUT) log.show();
        return undefined;
      }
      case 'unmet': {
        if (attempt > 0) {
          log.error(`Still unmet after installing: ${verdict.unmet.join(', ')}`);
          return undefined;
        }
        const command = commandLine(installLaunch(interpreter.path, verdict.unmet));
        log.warn(`${verdict.message} To install them: ${command}`);
        const choice = await answer(
          vscode.window.showWarningMessage(`${verdict.message} Install them with pip?`, { detail: command }, INSTALL, COPY, CHOOSE),
        );
        if (choice === COPY) await vscode.env.clipboard.writeText(command);
        if (choice === CHOOSE) await openInterpreterSetting();
        if (choice !== INSTALL) return undefined;
        if (!(await install(interpreter.path, verdict.unmet, log, path.join(storageDir, 'venv')))) return undefined;
        break;
      }
    }
  }
  return undefined;
}
