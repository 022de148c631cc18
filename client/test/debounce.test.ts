import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { debounce } from '../src/debounce';

describe('debounce', () => {
  it('runs once after a burst of calls', async () => {
    let calls = 0;
    const run = debounce(() => {
      calls++;
    }, 30);
    run();
    run();
    run();
    assert.equal(calls, 0);
    await sleep(80);
    assert.equal(calls, 1);
  });

  it('can be cancelled', async () => {
    let calls = 0;
    const run = debounce(() => {
      calls++;
    }, 20);
    run();
    run.cancel();
    await sleep(60);
    assert.equal(calls, 0);
  });
});
