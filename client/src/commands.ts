/** The palette commands: search, open a linked repo, refresh, restart, show the output. */
import * as vscode from 'vscode';
import { debounce } from './debounce';
import { Commands, parseSearchResults, shortAuthors, type SearchResult } from './protocol';
import type { ServerManager } from './server';

const SEARCH_LIMIT = 50;
const TYPING_DELAY_MS = 150;

interface PaperItem extends vscode.QuickPickItem {
  paper?: SearchResult;
  /** For "Open Linked Repo…": a repo typed by hand (owner/name or URL). */
  typed?: string;
}

const OPEN_REPO_BUTTON: vscode.QuickInputButton = { iconPath: new vscode.ThemeIcon('github'), tooltip: 'Open the repo' };
const OPEN_PAPER_BUTTON: vscode.QuickInputButton = {
  iconPath: new vscode.ThemeIcon('link-external'),
  tooltip: 'Open the paper page',
};

function paperItem(paper: SearchResult, repoFirst: boolean): PaperItem {
  const facts = [
    paper.method,
    paper.year !== null ? String(paper.year) : null,
    paper.upvotes > 0 ? `▲ ${paper.upvotes}` : null,
    repoFirst ? null : paper.repo,
  ].filter((fact): fact is string => fact !== null && fact !== '');
  const buttons: vscode.QuickInputButton[] = [];
  if (paper.repo !== null) buttons.push(OPEN_REPO_BUTTON);
  if (paper.paperUrl !== null) buttons.push(OPEN_PAPER_BUTTON);
  return {
    label: repoFirst ? `$(github) ${paper.repo ?? paper.key}` : paper.title,
    description: repoFirst ? paper.title : facts.join(' · '),
    detail: repoFirst ? facts.join(' · ') : [shortAuthors(paper.authors), paper.key].filter((s) => s !== '').join(' — '),
    // The server ranks the results; VS Code's own filter on the label must not hide any of them.
    alwaysShow: true,
    buttons,
    paper,
  };
}

/** The word at the cursor or the selected text: the first query of a search. */
function initialQuery(): string {
  const editor = vscode.window.activeTextEditor;
  if (!editor) return '';
  const selection = editor.selection;
  if (!selection.isEmpty) return editor.document.getText(selection).trim().slice(0, 200);
  const range = editor.document.getWordRangeAtPosition(selection.active, /[\p{L}\p{N}][\p{L}\p{N}._-]*/u);
  return range ? editor.document.getText(range) : '';
}

const REPO_LIKE = /^(?:https:\/\/github\.com\/)?[A-Za-z0-9][A-Za-z0-9-]*\/[A-Za-z0-9._-]+$/;

interface PickOptions {
  title: string;
  placeholder: string;
  /** "Open Linked Repo…": only papers with a repo, labelled by the repo. */
  reposOnly: boolean;
}

/** A quick pick fed by `paperlens.search` as the user types. Resolves to the accepted item. */
function pickPaper(
  server: ServerManager,
  log: vscode.LogOutputChannel,
  options: PickOptions,
  onButton: (paper: SearchResult, button: vscode.QuickInputButton) => void,
): Promise<PaperItem | undefined> {
  const pick = vscode.window.createQuickPick<PaperItem>();
  pick.title = options.title;
  pick.placeholder = options.placeholder;
  pick.matchOnDescription = true;
  pick.matchOnDetail = true;
  let generation = 0;

  const search = async (): Promise<void> => {
    const query = pick.value.trim();
    const mine = ++generation;
    pick.busy = true;
    try {
      // The document and cursor let the server say what picking a paper inserts there (each result's citation).
      const editor = vscode.window.activeTextEditor;
      const where = editor ? [editor.document.uri.toString(), editor.selection.start] : [];
      const raw = await server.executeCommand(Commands.search, [query, SEARCH_LIMIT, ...where]);
      if (mine !== generation) return;
      let papers = parseSearchResults(raw);
      if (options.reposOnly) papers = papers.filter((paper) => paper.repo !== null);
      const items = papers.map((paper) => paperItem(paper, options.reposOnly));
      if (options.reposOnly && REPO_LIKE.test(query)) {
        items.unshift({ label: `$(github) Open ${query}`, alwaysShow: true, typed: query });
      }
      pick.items = items;
    } catch (error) {
      if (mine !== generation) return;
      log.error(`paperlens.search failed: ${String(error)}`);
      pick.items = [];
      pick.placeholder = `Search failed: ${String(error)}`;
    } finally {
      if (mine === generation) pick.busy = false;
    }
  };
  const searchSoon = debounce(() => void search(), TYPING_DELAY_MS);

  return new Promise((resolve) => {
    let accepted: PaperItem | undefined;
    pick.onDidChangeValue(() => {
      searchSoon();
    });
    pick.onDidTriggerItemButton((event) => {
      if (event.item.paper) {
        onButton(event.item.paper, event.button);
        pick.hide();
      }
    });
    pick.onDidAccept(() => {
      accepted = pick.selectedItems[0];
      pick.hide();
    });
    pick.onDidHide(() => {
      searchSoon.cancel();
      pick.dispose();
      resolve(accepted);
    });
    pick.value = initialQuery();
    pick.show();
    void search();
  });
}

async function runServerCommand(server: ServerManager, log: vscode.LogOutputChannel, command: string, args: unknown[]): Promise<unknown> {
  try {
    return await server.executeCommand(command, args);
  } catch (error) {
    log.error(`${command} failed: ${String(error)}`);
    void vscode.window.showErrorMessage(`PaperLens: ${command} failed: ${String(error)}`);
    return undefined;
  }
}

/** Opens a paper's repo or page; the server validates the URL and asks VS Code to open it (window/showDocument). */
function openFor(server: ServerManager, log: vscode.LogOutputChannel, paper: SearchResult, button: vscode.QuickInputButton): void {
  const command = button === OPEN_REPO_BUTTON ? Commands.openRepo : Commands.openPaper;
  const target = button === OPEN_REPO_BUTTON ? (paper.repo ?? paper.key) : paper.key;
  void runServerCommand(server, log, command, [target]);
}

async function insertCitation(server: ServerManager, log: vscode.LogOutputChannel, paper: SearchResult): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    await runServerCommand(server, log, Commands.openPaper, [paper.key]);
    return;
  }
  const document = editor.document;
  // The server wrote the citation in this document's syntax for the cursor's position (see pickPaper).
  const insertion = paper.citation ?? { text: paper.key, keyed: true };
  const inserted = await editor.edit((edit) => {
    for (const selection of editor.selections) edit.replace(selection, insertion.text);
  });
  if (inserted && insertion.keyed && !paper.inBib) {
    // The key now in the text needs its entry in the .bib; the server knows which one (paperlens.bibFile).
    await runServerCommand(server, log, Commands.addBibEntry, [paper.key, document.uri.toString()]);
  }
}

function summarize(result: unknown): string {
  if (typeof result !== 'object' || result === null) return 'PaperLens: feed refreshed.';
  const facts = Object.entries(result as Record<string, unknown>)
    .filter(([, value]) => typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean')
    .map(([key, value]) => `${key}: ${String(value)}`);
  return facts.length > 0 ? `PaperLens: feed refreshed (${facts.join(', ')}).` : 'PaperLens: feed refreshed.';
}

export function registerCommands(server: ServerManager, log: vscode.LogOutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('paperlens.searchPapers', async () => {
      const item = await pickPaper(
        server,
        log,
        {
          title: 'PaperLens: Search Papers',
          placeholder: 'Title, method, author or key. Enter inserts the citation; the buttons open the repo or paper page.',
          reposOnly: false,
        },
        (paper, button) => {
          openFor(server, log, paper, button);
        },
      );
      if (item?.paper) await insertCitation(server, log, item.paper);
    }),
    vscode.commands.registerCommand('paperlens.openLinkedRepo', async () => {
      const item = await pickPaper(
        server,
        log,
        { title: 'PaperLens: Open Linked Repo', placeholder: 'Method, title, key, or owner/name', reposOnly: true },
        (paper, button) => {
          openFor(server, log, paper, button);
        },
      );
      const target = item?.typed ?? item?.paper?.repo;
      if (target) await runServerCommand(server, log, Commands.openRepo, [target]);
    }),
    vscode.commands.registerCommand('paperlens.refreshFeed', async () => {
      // The server reports progress itself (window/workDoneProgress), which VS Code shows.
      const result = await runServerCommand(server, log, Commands.refresh, []);
      if (result !== undefined) void vscode.window.showInformationMessage(summarize(result));
    }),
    vscode.commands.registerCommand('paperlens.restartServer', async () => {
      await server.restart('PaperLens: Restart Server');
    }),
    vscode.commands.registerCommand('paperlens.showOutput', () => {
      log.show();
    }),
  ];
}
