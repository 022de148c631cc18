import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  citationInsertion,
  insideLatexCite,
  isServerStatus,
  parseSearchResults,
  shortAuthors,
  statusText,
  type SearchResult,
} from '../src/protocol';

const paper: SearchResult = {
  key: 'hsu2024drct',
  title: 'DRCT: Saving Image Super-resolution away from Information Bottleneck',
  method: 'DRCT',
  year: 2024,
  authors: ['Chih-Chung Hsu', 'Chia-Ming Lee', 'Yi-Shiuan Chou'],
  upvotes: 3,
  repo: 'ming053l/DRCT',
  paperUrl: 'https://huggingface.co/papers/2404.00722',
  repoUrl: 'https://github.com/ming053l/DRCT',
  citation: 'Hsu et al. (2024). DRCT: Saving Image Super-resolution away from Information Bottleneck.',
  inBib: false,
};

describe('status bar text', () => {
  it('shows the paper count when idle and a spinner when refreshing', () => {
    assert.equal(statusText({ papers: 1234, state: 'idle', source: 'snapshot' }), '$(book) PaperLens: 1234 papers');
    assert.equal(statusText({ papers: 1, state: 'idle', source: '' }), '$(book) PaperLens: 1 paper');
    assert.equal(statusText({ papers: 5, state: 'refreshing', source: '' }), '$(sync~spin) PaperLens: refreshing');
  });

  it('accepts only well-formed status notifications', () => {
    assert.ok(isServerStatus({ papers: 3, state: 'idle', source: 'x' }));
    assert.ok(!isServerStatus({ papers: '3', state: 'idle' }));
    assert.ok(!isServerStatus({ papers: 3, state: 'busy' }));
    assert.ok(!isServerStatus(null));
  });
});

describe('search results', () => {
  it('keeps well-formed results and drops the rest', () => {
    const parsed = parseSearchResults([{ ...paper, year: null, repo: '' }, { title: 'no key' }, 'junk']);
    assert.deepEqual(parseSearchResults([{ ...paper, authors: 'C. Hsu et al.' }])[0]?.authors, ['C. Hsu et al.']);
    assert.equal(parsed.length, 1);
    assert.deepEqual(
      parsed.map((r) => [r.repo, r.year]),
      [[null, null]],
    );
    assert.deepEqual(parseSearchResults({ not: 'a list' }), []);
  });

  it('shortens long author lists', () => {
    assert.equal(shortAuthors(['A', 'B']), 'A, B');
    assert.equal(shortAuthors(['A', 'B', 'C', 'D']), 'A, B, C et al.');
  });
});

describe('citation insertion', () => {
  const table: [string, string, string, boolean][] = [
    ['latex', 'as shown by ', '\\cite{hsu2024drct}', true],
    ['latex', 'as shown by \\citep[p.~3]{', 'hsu2024drct', true],
    ['latex', '\\cite{a,', 'hsu2024drct', true],
    ['latex', '\\cite{a} and ', '\\cite{hsu2024drct}', true],
    ['markdown', 'see ', '[@hsu2024drct]', true],
    ['quarto', 'see [@a; @', 'hsu2024drct', true],
    ['restructuredtext', 'see ', ':cite:`hsu2024drct`', true],
    ['python', '# ', paper.citation ?? '', false],
  ];
  for (const [language, before, text, keyed] of table) {
    it(`${language} after ${JSON.stringify(before)}`, () => {
      assert.deepEqual(citationInsertion(language, paper, before), { text, keyed });
    });
  }

  it('falls back to "Method: URL" when the server gives no citation text', () => {
    const bare = { ...paper, citation: null };
    assert.equal(citationInsertion('python', bare, '# ').text, 'DRCT: https://huggingface.co/papers/2404.00722');
    const unlinked = { ...bare, method: null, paperUrl: null, repoUrl: null };
    assert.equal(citationInsertion('plaintext', unlinked, '').text, `${paper.title} (hsu2024drct)`);
  });

  it('knows when the cursor is inside a cite command', () => {
    assert.ok(insideLatexCite('\\textcite{'));
    assert.ok(insideLatexCite('\\autocite*{x, '));
    assert.ok(!insideLatexCite('\\section{'));
    assert.ok(!insideLatexCite('\\cite{x} '));
  });
});
