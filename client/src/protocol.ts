/**
 * The server's custom commands and notification (docs/contract.md), as plain types and parsers.
 * No VS Code here: the Node tests use it too.
 */

export const Commands = {
  search: 'paperlens.search',
  openRepo: 'paperlens.openRepo',
  openPaper: 'paperlens.openPaper',
  addBibEntry: 'paperlens.addBibEntry',
  refresh: 'paperlens.refresh',
  status: 'paperlens.status',
} as const;

export const STATUS_NOTIFICATION = 'paperlens/status';

/** The `paperlens/status` notification and the result of the `paperlens.status` command. */
export interface ServerStatus {
  papers: number;
  state: 'idle' | 'refreshing';
  source: string;
}

export function isServerStatus(value: unknown): value is ServerStatus {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.papers === 'number' && (v.state === 'idle' || v.state === 'refreshing');
}

export function statusText(status: ServerStatus): string {
  if (status.state === 'refreshing') return '$(sync~spin) PaperLens: refreshing';
  return `$(book) PaperLens: ${status.papers} ${status.papers === 1 ? 'paper' : 'papers'}`;
}

/** One result of `paperlens.search`. */
export interface SearchResult {
  key: string;
  title: string;
  method: string | null;
  year: number | null;
  /** Author names, or the server's short form ("A. Author et al.") as one item. */
  authors: string[];
  upvotes: number;
  repo: string | null;
  paperUrl: string | null;
  repoUrl: string | null;
  /** Plain-text citation, for documents without cite keys (optional). */
  citation: string | null;
  /** Whether the workspace's .bib already has the entry. */
  inBib: boolean;
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The well-formed results of `paperlens.search`; anything malformed is dropped. */
export function parseSearchResults(value: unknown): SearchResult[] {
  if (!Array.isArray(value)) return [];
  const results: SearchResult[] = [];
  for (const raw of value as unknown[]) {
    if (typeof raw !== 'object' || raw === null) continue;
    const r = raw as Record<string, unknown>;
    const key = str(r.key);
    const title = str(r.title);
    if (key === null || title === null) continue;
    results.push({
      key,
      title,
      method: str(r.method),
      year: typeof r.year === 'number' ? r.year : null,
      authors: Array.isArray(r.authors)
        ? r.authors.filter((a): a is string => typeof a === 'string')
        : typeof r.authors === 'string' && r.authors !== ''
          ? [r.authors]
          : [],
      upvotes: typeof r.upvotes === 'number' ? r.upvotes : 0,
      repo: str(r.repo),
      paperUrl: str(r.paperUrl),
      repoUrl: str(r.repoUrl),
      citation: str(r.citation),
      inBib: r.inBib === true,
    });
  }
  return results;
}

/** "A. Author, B. Author et al." for a quick pick's detail line. */
export function shortAuthors(authors: readonly string[], max = 3): string {
  if (authors.length <= max) return authors.join(', ');
  return `${authors.slice(0, max).join(', ')} et al.`;
}

/** Languages whose citations are keys into a .bib file. */
const KEYED: Record<string, (key: string, inside: boolean) => string> = {
  latex: (key, inside) => (inside ? key : `\\cite{${key}}`),
  tex: (key, inside) => (inside ? key : `\\cite{${key}}`),
  markdown: (key, inside) => (inside ? key : `[@${key}]`),
  quarto: (key, inside) => (inside ? key : `[@${key}]`),
  restructuredtext: (key, inside) => (inside ? key : `:cite:\`${key}\``),
};

/** True when the text before the cursor ends inside a LaTeX cite command's braces, e.g. `\citep{a,`. */
export function insideLatexCite(before: string): boolean {
  return /\\[A-Za-z]*cite[A-Za-z]*\*?(?:\[[^\]]*\])*\{[^}]*$/.test(before);
}

/** True when the text before the cursor ends inside a Pandoc citation, e.g. `[@a; @`. */
export function insidePandocCite(before: string): boolean {
  return /\[[^\]]*@[^\]]*$/.test(before) && before.endsWith('@');
}

export interface Insertion {
  text: string;
  /** True when the citation is a .bib key, so that the entry should be added to the .bib. */
  keyed: boolean;
}

/**
 * What "Search Papers…" inserts at the cursor: a cite command with the paper's key in LaTeX,
 * Markdown, Quarto and reST (just the key when the cursor is already inside one); elsewhere (code,
 * plain text) the server's plain-text citation, else "Method: <paper URL>" as the code actions write it.
 */
export function citationInsertion(languageId: string, paper: SearchResult, textBeforeCursor: string): Insertion {
  const keyed = KEYED[languageId];
  if (keyed !== undefined) {
    const inside =
      languageId === 'latex' || languageId === 'tex' ? insideLatexCite(textBeforeCursor) : insidePandocCite(textBeforeCursor);
    return { text: keyed(paper.key, inside), keyed: true };
  }
  const link = paper.paperUrl ?? paper.repoUrl;
  const fallback = link === null ? `${paper.title} (${paper.key})` : `${paper.method ?? paper.title}: ${link}`;
  return { text: paper.citation ?? fallback, keyed: false };
}
