/**
 * How the extension runs the server: the interpreter check, the server's command line and
 * environment, and the install command. Node only (no VS Code), so the Node tests use it too.
 *
 * The .vsix carries the server's source (`server/paperlens`), its `pyproject.toml` and the `cache/`
 * snapshot. The server runs from that source with `PYTHONPATH=<extension>/server`; the interpreter
 * only has to provide the third-party dependencies listed in `pyproject.toml`.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Executable } from 'vscode-languageclient/node';

export const MIN_PYTHON: readonly [number, number] = [3, 11];

/**
 * Prints one JSON line: the interpreter's version and which of the server's requirements
 * (from pyproject.toml, argv[1]) it does not meet. Written to parse on any Python 3, so that an old
 * interpreter gets a version message rather than a syntax error.
 */
export const CHECK_SCRIPT = String.raw`
import json, re, sys
out = {"version": list(sys.version_info[:3]), "executable": sys.executable, "unmet": [], "error": None, "server": None,
       "sitePackages": []}
def site_dirs():
    import site, sysconfig
    dirs = [sysconfig.get_paths().get(k) for k in ("purelib", "platlib")]
    if getattr(site, "ENABLE_USER_SITE", False):
        dirs.append(site.getusersitepackages())
    return sorted(set(d for d in dirs if d))
def check():
    if sys.version_info < (3, 11):
        return
    import importlib.metadata as md
    import tomllib
    try:
        from packaging.requirements import Requirement
    except ImportError:
        try:
            from pip._vendor.packaging.requirements import Requirement
        except ImportError:
            Requirement = None
    with open(sys.argv[1], "rb") as f:
        requirements = tomllib.load(f)["project"]["dependencies"]
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9._-]+", requirement).group(0)
        try:
            version = md.version(name)
        except md.PackageNotFoundError:
            out["unmet"].append(requirement)
            continue
        if Requirement is not None and not Requirement(requirement).specifier.contains(version, prereleases=True):
            out["unmet"].append(requirement)
    if out["unmet"]:
        return
    try:
        import paperlens.cli
        out["server"] = paperlens.cli.__file__
    except Exception as exc:
        out["error"] = "%s: %s" % (type(exc).__name__, exc)
try:
    check()
except Exception as exc:
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
try:
    out["sitePackages"] = site_dirs()
except Exception:
    pass
print(json.dumps(out))
`;

export interface CheckResult {
  version: [number, number, number];
  executable: string;
  /** Requirements from pyproject.toml that are missing or at the wrong version. */
  unmet: string[];
  /** Why the server could not be imported although its requirements are met. */
  error: string | null;
  /** Where `paperlens.cli` was imported from. */
  server: string | null;
  /** The interpreter's site-packages directories: installing or removing a package changes their mtime. */
  sitePackages?: string[];
}

export type Assessment =
  | { kind: 'ready' }
  | { kind: 'too-old'; message: string }
  | { kind: 'unmet'; message: string; unmet: string[] }
  | { kind: 'broken'; message: string };

export interface ServerLayout {
  /** The directory that holds `package.json`, `pyproject.toml`, `server/` and `cache/`. */
  extensionPath: string;
}

export function pyprojectPath(layout: ServerLayout): string {
  return path.join(layout.extensionPath, 'pyproject.toml');
}

export function serverSourceDir(layout: ServerLayout): string {
  return path.join(layout.extensionPath, 'server');
}

/** The environment for the interpreter check and the server: the bundled source first on PYTHONPATH. */
export function serverEnv(layout: ServerLayout, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' };
  const source = serverSourceDir(layout);
  if (existsSync(path.join(source, 'paperlens'))) {
    env.PYTHONPATH = base.PYTHONPATH ? `${source}${path.delimiter}${base.PYTHONPATH}` : source;
  }
  return env;
}

export interface Launch {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** `python -m paperlens serve`: the language server over stdio. */
export function serverLaunch(python: string, layout: ServerLayout, base?: NodeJS.ProcessEnv): Launch {
  return { command: python, args: ['-m', 'paperlens', 'serve'], env: serverEnv(layout, base) };
}

/**
 * The ServerOptions the extension gives LanguageClient. No `transport`: for an Executable with
 * `transport: TransportKind.stdio`, vscode-languageclient appends `--stdio` to the arguments, and a server
 * older than that flag exits with "unrecognized arguments". Without it the client still talks over the
 * child's stdin/stdout and passes the command line as it is.
 */
export function serverOptions(python: string, layout: ServerLayout, base?: NodeJS.ProcessEnv): Executable {
  const launch = serverLaunch(python, layout, base);
  return { command: launch.command, args: launch.args, options: { env: launch.env } };
}

export function checkLaunch(python: string, layout: ServerLayout, base?: NodeJS.ProcessEnv): Launch {
  return { command: python, args: ['-c', CHECK_SCRIPT, pyprojectPath(layout)], env: serverEnv(layout, base) };
}

/** `python -m pip install <unmet requirements>`. */
export function installLaunch(python: string, unmet: readonly string[]): Launch {
  return { command: python, args: ['-m', 'pip', 'install', ...unmet], env: { ...process.env } };
}

/** The last JSON line of the check script's output, or an Error saying what came out instead. */
export function parseCheck(stdout: string): CheckResult | Error {
  const line = stdout.trim().split(/\r?\n/).pop() ?? '';
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return new Error(`unexpected output from the interpreter check: ${JSON.stringify(stdout.slice(0, 300))}`);
  }
  if (typeof value !== 'object' || value === null) return new Error('the interpreter check printed no object');
  const v = value as Record<string, unknown>;
  const version = v.version;
  if (!Array.isArray(version) || version.length !== 3 || !version.every((n) => typeof n === 'number')) {
    return new Error('the interpreter check printed no version');
  }
  return {
    version: version as [number, number, number],
    executable: typeof v.executable === 'string' ? v.executable : '',
    unmet: Array.isArray(v.unmet) ? v.unmet.filter((r): r is string => typeof r === 'string') : [],
    error: typeof v.error === 'string' ? v.error : null,
    server: typeof v.server === 'string' ? v.server : null,
    sitePackages: Array.isArray(v.sitePackages) ? v.sitePackages.filter((d): d is string => typeof d === 'string') : [],
  };
}

export function assess(result: CheckResult, python: string): Assessment {
  const [major, minor] = result.version;
  const version = result.version.join('.');
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1])) {
    return {
      kind: 'too-old',
      message:
        `PaperLens needs Python ${MIN_PYTHON.join('.')} or newer; ${python} is Python ${version}. ` +
        'Choose another interpreter in the setting "paperlens.server.python".',
    };
  }
  if (result.unmet.length > 0) {
    return {
      kind: 'unmet',
      unmet: result.unmet,
      message: `PaperLens's server needs packages that ${python} (Python ${version}) lacks: ${result.unmet.join(', ')}.`,
    };
  }
  if (result.error !== null) {
    return { kind: 'broken', message: `PaperLens's server cannot be imported with ${python}: ${result.error}` };
  }
  return { kind: 'ready' };
}

/** Quotes one argument for a POSIX shell (or, on Windows, for PowerShell/cmd well enough to copy). */
export function shellQuote(arg: string, platform: NodeJS.Platform = process.platform): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(arg)) return arg;
  if (platform === 'win32') return `"${arg.replace(/"/g, '""')}"`;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(launch: Pick<Launch, 'command' | 'args'>, platform?: NodeJS.Platform): string {
  return [launch.command, ...launch.args].map((arg) => shellQuote(arg, platform)).join(' ');
}

/** The interpreter used when neither the setting nor the Python extension names one. */
export function defaultPython(platform: NodeJS.Platform = process.platform): string {
  return platform === 'win32' ? 'python' : 'python3';
}

/** Expands `~` and `${workspaceFolder}` (and `${userHome}`) in a configured interpreter path. */
export function expandPath(value: string, workspaceFolder: string | undefined, home: string = os.homedir()): string {
  let out = value.trim();
  out = out.replace(/\$\{userHome\}/g, home);
  if (workspaceFolder !== undefined) out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  if (out === '~') return home;
  if (out.startsWith('~/') || out.startsWith('~\\')) return path.join(home, out.slice(2));
  return out;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the process could not be started at all (ENOENT and the like). */
  spawnError?: Error;
}

/** Runs a process to completion, killing it after `timeoutMs`. */
export function run(
  launch: Launch,
  options: { timeoutMs?: number; onOutput?: (chunk: string) => void; signal?: AbortSignal } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = spawn(launch.command, launch.args, {
      env: launch.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
      windowsHide: true,
    });
    // Not spawn's own `timeout`: its timer outlives a process that failed to start.
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill();
          }, options.timeoutMs);
    const finish = (result: RunResult): void => {
      clearTimeout(timer);
      resolve(result);
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      options.onOutput?.(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      options.onOutput?.(chunk);
    });
    child.on('error', (error) => {
      finish({ code: null, stdout, stderr, spawnError: error });
    });
    child.on('close', (code) => {
      finish({ code, stdout, stderr });
    });
  });
}

/** The interpreter check: its result, or an Error that says what went wrong and with which interpreter. */
export async function checkInterpreter(python: string, layout: ServerLayout): Promise<CheckResult | Error> {
  const result = await run(checkLaunch(python, layout), { timeoutMs: 30_000 });
  if (result.spawnError) {
    const code = (result.spawnError as NodeJS.ErrnoException).code;
    return new Error(
      code === 'ENOENT'
        ? `Python interpreter not found: ${python}`
        : `Cannot run ${python}: ${result.spawnError.message}`,
    );
  }
  if (result.code !== 0) {
    return new Error(`${python} failed the interpreter check (exit ${String(result.code)}): ${result.stderr.trim()}`);
  }
  return parseCheck(result.stdout);
}

/** Recognises pip's refusal to install into an OS-managed interpreter (PEP 668). */
export function isExternallyManaged(output: string): boolean {
  return output.includes('externally-managed-environment');
}

/** The commands that make a private environment for the server, for when the interpreter is OS-managed. */
export function venvRecipe(python: string, venvDir: string, requirements: readonly string[], platform?: NodeJS.Platform): string[] {
  const p = platform ?? process.platform;
  const venvPython = p === 'win32' ? path.win32.join(venvDir, 'Scripts', 'python.exe') : path.posix.join(venvDir, 'bin', 'python');
  return [
    commandLine({ command: python, args: ['-m', 'venv', venvDir] }, p),
    commandLine({ command: venvPython, args: ['-m', 'pip', 'install', ...requirements] }, p),
  ];
}

/** The interpreter `command` names: itself when it is a path, else the first match on PATH. */
export async function locate(command: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if (command.includes('/') || command.includes('\\')) return path.resolve(command);
  const exts = process.platform === 'win32' ? ['', '.exe'] : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    for (const ext of exts) {
      const candidate = path.join(dir, command + ext);
      try {
        await fs.access(candidate, fs.constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/**
 * What a passed interpreter check depends on, cheaply: the interpreter (its link and its target), its
 * site-packages directories (a pip install or uninstall changes their mtime) and the server's requirements.
 * Undefined when one of them cannot be read: then the check runs again.
 */
export async function checkFingerprint(python: string, result: CheckResult, layout: ServerLayout): Promise<string | undefined> {
  const interpreter = await locate(python);
  if (interpreter === undefined) return undefined;
  const parts: string[] = [];
  try {
    const link = await fs.lstat(interpreter);
    const target = await fs.stat(interpreter);
    parts.push(`${interpreter}:${link.mtimeMs}:${target.mtimeMs}:${target.size}`);
    for (const dir of result.sitePackages ?? []) {
      const stat = await fs.stat(dir).catch(() => undefined);
      parts.push(`${dir}:${stat ? stat.mtimeMs : 'absent'}`);
    }
    const pyproject = await fs.stat(pyprojectPath(layout));
    parts.push(`pyproject:${pyproject.mtimeMs}:${pyproject.size}`);
  } catch {
    return undefined;
  }
  return parts.join('|');
}

/** Where cached check results are kept: VS Code's globalState (a Memento) has this shape. */
export interface CheckStore {
  get(key: string): unknown;
  update(key: string, value: unknown): PromiseLike<void>;
}

const CHECKS_KEY = 'paperlens.interpreterChecks';
const MAX_CACHED_CHECKS = 8;

interface CachedCheck {
  fingerprint: string;
  result: CheckResult;
}

/**
 * Passed interpreter checks, per interpreter, valid while nothing they depend on changed (checkFingerprint).
 * Saves the ~1-2 s that a Python importing the server's dependencies takes at every activation.
 */
export class CheckCache {
  constructor(
    private readonly store: CheckStore,
    private readonly layout: ServerLayout,
  ) {}

  private all(): Record<string, CachedCheck> {
    const all = this.store.get(CHECKS_KEY);
    return typeof all === 'object' && all !== null ? (all as Record<string, CachedCheck>) : {};
  }

  /** The cached passed check for `python`, if nothing it depends on changed since. */
  async get(python: string): Promise<CheckResult | undefined> {
    const cached = this.all()[python];
    if (cached === undefined) return undefined;
    const now = await checkFingerprint(python, cached.result, this.layout);
    return now !== undefined && now === cached.fingerprint ? cached.result : undefined;
  }

  /** Keeps a passed check. */
  async set(python: string, result: CheckResult): Promise<void> {
    const fingerprint = await checkFingerprint(python, result, this.layout);
    if (fingerprint === undefined) return;
    const entries = Object.entries(this.all()).filter(([key]) => key !== python);
    entries.push([python, { fingerprint, result }]);
    await this.store.update(CHECKS_KEY, Object.fromEntries(entries.slice(-MAX_CACHED_CHECKS)));
  }

  async forget(python: string): Promise<void> {
    const all = this.all();
    if (!(python in all)) return;
    await this.store.update(CHECKS_KEY, Object.fromEntries(Object.entries(all).filter(([key]) => key !== python)));
  }
}
