/**
 * The real Python server over stdio, driven through vscode-languageserver-protocol (what the VS Code
 * client is built on), launched the way the extension launches it: hover, completion, and a code
 * action whose command makes the server ask the client to open a URL (window/showDocument).
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  CodeActionRequest,
  CompletionRequest,
  DidOpenTextDocumentNotification,
  ExecuteCommandRequest,
  HoverRequest,
  type CodeAction,
  type Command,
  type CompletionItem,
  type CompletionList,
  type Hover,
  type Position,
} from 'vscode-languageserver-protocol/node';
import { Commands, isServerStatus, parseSearchResults } from '../src/protocol';
import { ROOT } from './helpers';
import { Session, withTimeout } from './session';

const DRCT_TITLE = 'DRCT: Saving Image Super-resolution away from Information Bottleneck';
const GLOCAL_TITLE = 'Glocal Information Bottleneck for Time Series Imputation';
const DRCT_REPO_URL = 'https://github.com/ming053l/DRCT';

/**
 * A workspace of its own (the server scans the workspace's .bib files at start, and the repository may hold
 * large generated ones): a copy of examples/ when its draft.tex has what the test needs, else one document.
 */
function testWorkspace(): { root: string; uri: string; text: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'paperlens-workspace-'));
  const examples = path.join(ROOT, 'examples');
  const draft = path.join(examples, 'draft.tex');
  if (existsSync(draft)) {
    const text = readFileSync(draft, 'utf8');
    if (text.includes('DRCT') && text.includes('\\cite{glo')) {
      cpSync(examples, root, { recursive: true });
      return { root, uri: pathToFileURL(path.join(root, 'draft.tex')).href, text };
    }
  }
  const text = [
    '\\documentclass{article}',
    '\\begin{document}',
    'We compare against DRCT on Set5 and Urban100.',
    'Missing values are imputed as in \\cite{glo',
    '\\end{document}',
    '',
  ].join('\n');
  writeFileSync(path.join(root, 'draft.tex'), text);
  return { root, uri: pathToFileURL(path.join(root, 'draft.tex')).href, text };
}

/** The position of `needle` in `text` (UTF-16 units, as LSP counts by default), plus `shift` characters. */
export function positionOf(text: string, needle: string, shift = 0): Position {
  const index = text.indexOf(needle);
  assert.ok(index >= 0, `${JSON.stringify(needle)} not found in the test document`);
  const lines = text.slice(0, index + shift).split('\n');
  return { line: lines.length - 1, character: (lines[lines.length - 1] ?? '').length };
}

export function hoverText(hover: Hover | null): string {
  if (hover === null) return '';
  // Hover contents are MarkupContent, or (deprecated) strings and {language, value} pairs.
  const render = (part: unknown): string =>
    typeof part === 'string' ? part : typeof part === 'object' && part !== null && 'value' in part ? String(part.value) : '';
  const contents: unknown = hover.contents;
  return Array.isArray(contents) ? contents.map(render).join('\n') : render(contents);
}

/** Markdown as a reader sees it: CommonMark backslash escapes (`Super\-resolution`) undone. */
export function rendered(markdown: string): string {
  return markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

function itemText(item: CompletionItem): string {
  const doc = item.documentation;
  const documentation = doc === undefined ? '' : typeof doc === 'string' ? doc : doc.value;
  const label = item.labelDetails;
  return rendered([item.label, item.detail ?? '', label?.description ?? '', label?.detail ?? '', documentation].join('\n'));
}

/** The order in which VS Code lists completion items: by sortText, else by label. */
function clientOrder(items: CompletionItem[]): CompletionItem[] {
  return [...items].sort((a, b) => (a.sortText ?? a.label).localeCompare(b.sortText ?? b.label));
}

describe('the PaperLens server over stdio', { timeout: 180_000 }, () => {
  let session: Session;
  const document = testWorkspace();

  before(async () => {
    session = await Session.start(ROOT, document.root);
    await session.connection.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: document.uri, languageId: 'latex', version: 1, text: document.text },
    });
  });

  after(async () => {
    await session.close();
    rmSync(document.root, { recursive: true, force: true });
  });

  it(`hover on DRCT shows "${DRCT_TITLE}"`, async () => {
    const hover = await session.request<Hover | null>(HoverRequest.method, {
      textDocument: { uri: document.uri },
      position: positionOf(document.text, 'DRCT', 2),
    });
    assert.ok(rendered(hoverText(hover)).includes(DRCT_TITLE), `hover was:\n${hoverText(hover)}${session.context()}`);
  });

  it('completion in \\cite{glo lists the Glocal-IB paper first', async () => {
    const result = await session.request<CompletionItem[] | CompletionList | null>(CompletionRequest.method, {
      textDocument: { uri: document.uri },
      position: positionOf(document.text, '\\cite{glo', '\\cite{glo'.length),
    });
    const items = clientOrder(result === null ? [] : Array.isArray(result) ? result : result.items);
    const [first] = items;
    assert.ok(first, `no completion items${session.context()}`);
    assert.ok(
      itemText(first).includes(GLOCAL_TITLE),
      `first item was ${JSON.stringify(first)}; the first labels: ${items.slice(0, 5).map((i) => i.label).join(', ')}`,
    );
  });

  it('the "Open ming053l/DRCT on GitHub" action asks the client to open the repo externally', async () => {
    const at = positionOf(document.text, 'DRCT', 1);
    const actions = await session.request<(Command | CodeAction)[] | null>(CodeActionRequest.method, {
      textDocument: { uri: document.uri },
      range: { start: at, end: at },
      context: { diagnostics: [] },
    });
    const open = (actions ?? []).find((action) => /Open ming053l\/DRCT on GitHub/.test(action.title));
    assert.ok(open, `no "Open ming053l/DRCT on GitHub" among: ${(actions ?? []).map((a) => a.title).join(' | ')}${session.context()}`);
    // A code action carries its command in `command`; a bare Command is the command itself.
    const command: Command | undefined = typeof open.command === 'string' ? (open as Command) : open.command;
    assert.ok(command, `the action has no command: ${JSON.stringify(open)}`);

    const showDocument = session.nextShowDocument();
    const result = await session.request<unknown>(ExecuteCommandRequest.method, {
      command: command.command,
      arguments: command.arguments ?? [],
    });
    const params = await withTimeout(showDocument, 10_000, 'window/showDocument');
    assert.equal(params.uri, DRCT_REPO_URL);
    assert.equal(params.external, true);
    assert.deepEqual(result, { opened: DRCT_REPO_URL, success: true });
  });

  it('answers paperlens.search and paperlens.status as the commands of the extension expect', async () => {
    const results = await session.request<unknown>(ExecuteCommandRequest.method, {
      command: Commands.search,
      arguments: ['DRCT', 5],
    });
    assert.ok(Array.isArray(results) && results.length > 0, `no search results: ${JSON.stringify(results)}`);
    const papers = parseSearchResults(results);
    assert.equal(papers.length, results.length, `malformed results: ${JSON.stringify(results)}`);
    const [top] = papers;
    assert.ok(top);
    assert.equal(top.title, DRCT_TITLE);
    assert.equal(top.repo, 'ming053l/DRCT');
    // Searched from a position in the LaTeX document: the server writes the citation in its syntax.
    const there = parseSearchResults(
      await session.request<unknown>(ExecuteCommandRequest.method, {
        command: Commands.search,
        arguments: ['DRCT', 5, document.uri, positionOf(document.text, 'DRCT')],
      }),
    );
    assert.deepEqual(there[0]?.citation, { text: `\\cite{${top.key}}`, keyed: true });
    assert.deepEqual(
      parseSearchResults(
        await session.request<unknown>(ExecuteCommandRequest.method, {
          command: Commands.search,
          arguments: ['DRCT', 5, document.uri, positionOf(document.text, '\\cite{glo', '\\cite{glo'.length)],
        }),
      )[0]?.citation,
      { text: top.key, keyed: true },
    );
    const status = await session.request<unknown>(ExecuteCommandRequest.method, { command: Commands.status, arguments: [] });
    assert.ok(isServerStatus(status), `not a status: ${JSON.stringify(status)}`);
    assert.ok(status.papers > 0);
    // The status bar's other source: the notification the server sends after start.
    assert.ok(session.statuses.some(isServerStatus), `no paperlens/status notification: ${JSON.stringify(session.statuses)}`);
  });
});
