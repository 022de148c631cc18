import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
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
  citation: { text: '\\cite{hsu2024drct}', keyed: true },
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

describe('citations', () => {
  // What a citation says is the server's (tests/unit/features/test_feature_citation.py); the client keeps it as is.
  it('keeps the server\'s citation and drops a malformed one', () => {
    assert.deepEqual(parseSearchResults([paper])[0]?.citation, { text: '\\cite{hsu2024drct}', keyed: true });
    assert.deepEqual(parseSearchResults([{ ...paper, citation: { text: 'DRCT: https://x', keyed: false } }])[0]?.citation, {
      text: 'DRCT: https://x',
      keyed: false,
    });
    for (const bad of [null, 'a string', { text: '' }, { keyed: true }]) {
      assert.equal(parseSearchResults([{ ...paper, citation: bad }])[0]?.citation, null);
    }
  });
});
