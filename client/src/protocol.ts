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

/**
 * What citing a paper inserts at the position the search was made from, in that document's syntax (the server
 * knows it: `\\cite{key}`, `[@key]`, the key alone inside a citation, "Method: URL" in code).
 */
export interface Citation {
  text: string;
  /** The text is a .bib key: the entry belongs in the .bib. */
  keyed: boolean;
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
  /** Given when the search named a document and a position. */
  citation: Citation | null;
  /** Whether the workspace's .bib already has the entry. */
  inBib: boolean;
}

function citation(value: unknown): Citation | null {
  if (typeof value !== 'object' || value === null) return null;
  const c = value as Record<string, unknown>;
  return typeof c.text === 'string' && c.text !== '' ? { text: c.text, keyed: c.keyed === true } : null;
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
      citation: citation(r.citation),
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
