import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import {
  CLIENT_ONLY_SETTINGS,
  DEFAULT_LANGUAGES,
  DEFAULT_SERVER_SETTINGS,
  documentSelector,
  languageIds,
  serverSettings,
} from '../src/settings';
import { ROOT } from './helpers';

interface ConfigProperty {
  default?: unknown;
  description?: string;
  markdownDescription?: string;
}

const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  contributes: { configuration: { properties: Record<string, ConfigProperty> }; commands: { command: string; title: string }[] };
  activationEvents: string[];
};
const properties = manifest.contributes.configuration.properties;

/** `paperlens.<dotted key>` -> default, flattening the nested defaults the way VS Code names settings. */
function flatDefaults(): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [key, value] of Object.entries(DEFAULT_SERVER_SETTINGS)) {
    if (key === 'diagnostics') {
      for (const [sub, level] of Object.entries(DEFAULT_SERVER_SETTINGS.diagnostics)) out.set(`paperlens.diagnostics.${sub}`, level);
    } else {
      out.set(`paperlens.${key}`, value);
    }
  }
  return out;
}

describe('package.json configuration', () => {
  it('contributes every server setting with its default and a description', () => {
    for (const [key, value] of flatDefaults()) {
      const property = properties[key];
      assert.ok(property, `${key} is missing from contributes.configuration`);
      assert.deepEqual(property.default, value, `${key} default`);
      assert.ok(property.description ?? property.markdownDescription, `${key} has no description`);
    }
  });

  it('contributes the client-only settings and nothing unknown', () => {
    const known = new Set([...flatDefaults().keys(), ...CLIENT_ONLY_SETTINGS.map((key) => `paperlens.${key}`)]);
    assert.deepEqual(Object.keys(properties).filter((key) => !known.has(key)), []);
    for (const key of CLIENT_ONLY_SETTINGS) assert.ok(properties[`paperlens.${key}`], key);
  });

  it('covers every key of docs/contract.md', () => {
    const contract = readFileSync(path.join(ROOT, 'docs', 'contract.md'), 'utf8');
    const rows = [...contract.matchAll(/^\| ([a-zA-Z.]+) \|/gm)].map((m) => m[1]).filter((key) => key !== 'key');
    assert.ok(rows.length >= 14, `found only ${rows.length} settings in the contract`);
    for (const key of rows) assert.ok(properties[`paperlens.${key}`], `contract key ${key} is not contributed`);
  });

  it('activates on the default languages and has the five commands', () => {
    for (const language of DEFAULT_LANGUAGES) assert.ok(manifest.activationEvents.includes(`onLanguage:${language}`), language);
    assert.deepEqual(
      manifest.contributes.commands.map((c) => c.title).sort(),
      ['Open Linked Repo…', 'Refresh Feed', 'Restart Server', 'Search Papers…', 'Show Output'],
    );
  });
});

describe('serverSettings', () => {
  it('is the defaults when nothing is set', () => {
    assert.deepEqual(serverSettings(() => undefined), DEFAULT_SERVER_SETTINGS);
  });

  it('reads values, nested features and dotted diagnostics', () => {
    const values: Record<string, unknown> = {
      feeds: ['refs.bib', 42],
      offline: true,
      citeCommands: ['\\citeauthor', 'textcite'],
      features: { hover: false },
      'diagnostics.uncitedMention': 'hint',
    };
    const settings = serverSettings((key) => values[key]);
    assert.deepEqual(settings.feeds, ['refs.bib']);
    assert.equal(settings.offline, true);
    assert.deepEqual(settings.citeCommands, ['citeauthor', 'textcite']);
    assert.equal(settings.features.hover, false);
    assert.equal(settings.features.completion, true);
    assert.equal(settings.diagnostics.uncitedMention, 'hint');
    assert.equal(settings.diagnostics.unknownKey, 'warning');
  });

  it('falls back to the default for a value of the wrong type or outside its enum', () => {
    const values: Record<string, unknown> = { offline: 'yes', cacheDir: 3, 'diagnostics.unknownKey': 'error', features: 'all' };
    const settings = serverSettings((key) => values[key]);
    assert.equal(settings.offline, false);
    assert.equal(settings.cacheDir, '');
    assert.equal(settings.diagnostics.unknownKey, 'warning');
    assert.deepEqual(settings.features, DEFAULT_SERVER_SETTINGS.features);
  });

  it('never carries the client-only settings', () => {
    const settings = serverSettings(() => 'x') as unknown as Record<string, unknown>;
    assert.equal(settings.server, undefined);
    assert.equal(settings.languages, undefined);
    assert.equal(settings.trace, undefined);
  });
});

describe('document selector', () => {
  it('attaches to the default languages plus the configured ones, once each', () => {
    const ids = languageIds(['julia', 'latex', '', 7]);
    assert.deepEqual(ids, [...DEFAULT_LANGUAGES, 'julia']);
    assert.deepEqual(languageIds(undefined), [...DEFAULT_LANGUAGES]);
  });

  it('covers saved and untitled documents', () => {
    assert.deepEqual(documentSelector(['latex']), [
      { scheme: 'file', language: 'latex' },
      { scheme: 'untitled', language: 'latex' },
    ]);
  });
});
