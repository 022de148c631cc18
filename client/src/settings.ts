/**
 * The client -> server settings contract (docs/contract.md), with no dependency on VS Code so that
 * the Node tests can check it against package.json and the contract.
 */

export interface FeatureToggles {
  hover: boolean;
  completion: boolean;
  codeActions: boolean;
  links: boolean;
  symbols: boolean;
  diagnostics: boolean;
  definition: boolean;
}

export interface DiagnosticLevels {
  uncitedMention: 'off' | 'hint';
  unknownKey: 'off' | 'warning';
  missingBibEntry: 'off' | 'information';
  unusedEntry: 'off' | 'hint';
}

/** What the server receives as `initializationOptions` and as the `paperlens` configuration section. */
export interface ServerSettings {
  feeds: string[];
  offline: boolean;
  cacheDir: string;
  hfBaseUrl: string;
  githubBaseUrl: string;
  githubTokenEnv: string;
  hfTokenEnv: string;
  sendTokenToCustomHosts: boolean;
  refreshOnStart: boolean;
  bibFile: string;
  citeCommands: string[];
  features: FeatureToggles;
  diagnostics: DiagnosticLevels;
}

export const DEFAULT_SERVER_SETTINGS: Readonly<ServerSettings> = Object.freeze<ServerSettings>({
  feeds: [],
  offline: false,
  cacheDir: '',
  hfBaseUrl: 'https://huggingface.co',
  githubBaseUrl: 'https://api.github.com',
  githubTokenEnv: 'GITHUB_TOKEN',
  hfTokenEnv: 'HF_TOKEN',
  sendTokenToCustomHosts: false,
  refreshOnStart: false,
  bibFile: '',
  citeCommands: [],
  features: {
    hover: true,
    completion: true,
    codeActions: true,
    links: true,
    symbols: true,
    diagnostics: true,
    definition: true,
  },
  diagnostics: {
    uncitedMention: 'off',
    unknownKey: 'warning',
    missingBibEntry: 'information',
    unusedEntry: 'off',
  },
});

/** Settings read by the extension itself; never sent to the server. */
export const CLIENT_ONLY_SETTINGS = ['server.python', 'languages', 'trace.server'] as const;

/** Languages PaperLens attaches to without configuration. */
export const DEFAULT_LANGUAGES = [
  'latex',
  'tex',
  'bibtex',
  'markdown',
  'quarto',
  'restructuredtext',
  'plaintext',
  'python',
] as const;

/** Reads one dotted key below `paperlens.` (VS Code's `WorkspaceConfiguration.get`, or a stand-in). */
export type SettingGetter = (key: string) => unknown;

function stringOr(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

function booleanOr(value: unknown, fallback: boolean): boolean {
  return typeof value === 'boolean' ? value : fallback;
}

function stringsOr(value: unknown, fallback: readonly string[]): string[] {
  if (!Array.isArray(value)) return [...fallback];
  return value.filter((item): item is string => typeof item === 'string' && item.trim() !== '');
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return allowed.find((item) => item === value) ?? fallback;
}

/**
 * The server settings from the user's configuration. A value of the wrong type falls back to its
 * default, so that a typo in settings.json never reaches the server as garbage.
 */
export function serverSettings(get: SettingGetter): ServerSettings {
  const d = DEFAULT_SERVER_SETTINGS;
  const rawFeatures = get('features');
  const features: Record<string, unknown> =
    typeof rawFeatures === 'object' && rawFeatures !== null ? (rawFeatures as Record<string, unknown>) : {};
  return {
    feeds: stringsOr(get('feeds'), d.feeds),
    offline: booleanOr(get('offline'), d.offline),
    cacheDir: stringOr(get('cacheDir'), d.cacheDir),
    hfBaseUrl: stringOr(get('hfBaseUrl'), d.hfBaseUrl),
    githubBaseUrl: stringOr(get('githubBaseUrl'), d.githubBaseUrl),
    githubTokenEnv: stringOr(get('githubTokenEnv'), d.githubTokenEnv),
    hfTokenEnv: stringOr(get('hfTokenEnv'), d.hfTokenEnv),
    // machine-scoped in package.json: VS Code ignores a workspace's value, so only the user can turn it on
    sendTokenToCustomHosts: booleanOr(get('sendTokenToCustomHosts'), d.sendTokenToCustomHosts),
    refreshOnStart: booleanOr(get('refreshOnStart'), d.refreshOnStart),
    bibFile: stringOr(get('bibFile'), d.bibFile),
    citeCommands: stringsOr(get('citeCommands'), d.citeCommands).map((name) => name.replace(/^\\/, '')),
    features: {
      hover: booleanOr(features.hover, d.features.hover),
      completion: booleanOr(features.completion, d.features.completion),
      codeActions: booleanOr(features.codeActions, d.features.codeActions),
      links: booleanOr(features.links, d.features.links),
      symbols: booleanOr(features.symbols, d.features.symbols),
      diagnostics: booleanOr(features.diagnostics, d.features.diagnostics),
      definition: booleanOr(features.definition, d.features.definition),
    },
    diagnostics: {
      uncitedMention: oneOf(get('diagnostics.uncitedMention'), ['off', 'hint'], d.diagnostics.uncitedMention),
      unknownKey: oneOf(get('diagnostics.unknownKey'), ['off', 'warning'], d.diagnostics.unknownKey),
      missingBibEntry: oneOf(
        get('diagnostics.missingBibEntry'),
        ['off', 'information'],
        d.diagnostics.missingBibEntry,
      ),
      unusedEntry: oneOf(get('diagnostics.unusedEntry'), ['off', 'hint'], d.diagnostics.unusedEntry),
    },
  };
}

/** The language ids to attach to: the defaults plus `paperlens.languages`, without duplicates. */
export function languageIds(extra: unknown): string[] {
  const ids = new Set<string>(DEFAULT_LANGUAGES);
  for (const id of stringsOr(extra, [])) ids.add(id.trim());
  return [...ids];
}

export interface DocumentFilter {
  scheme: string;
  language: string;
}

/** A document selector for saved and untitled documents of the given languages. */
export function documentSelector(languages: readonly string[]): DocumentFilter[] {
  return languages.flatMap((language) => [
    { scheme: 'file', language },
    { scheme: 'untitled', language },
  ]);
}
