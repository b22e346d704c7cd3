/** Every request of the app settles: one the engine never answers ends in a readable E_TIMEOUT error. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../renderer/src/bridge/api-error.ts';
import { COPY_TIMEOUT_MS, REQUEST_TIMEOUT_MS, timeoutFor, withTimeout } from '../../renderer/src/bridge/request-timeout.ts';

test('a request that never settles is rejected after its timeout with a readable message', async () => {
  const never = new Promise<never>(() => undefined);
  await assert.rejects(withTimeout('project.create', never, 50), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.code, 'E_TIMEOUT');
    assert.match(e.message, /did not answer 'project\.create' within 0 s/);
    return true;
  });
});

test('answers and errors pass through unchanged; copies get the long timeout', async () => {
  assert.equal(await withTimeout('project.state', Promise.resolve(42), 1_000), 42);
  await assert.rejects(withTimeout('project.open', Promise.reject(new ApiError('nope', 'E_X')), 1_000), /nope/);
  assert.equal(timeoutFor('project.create'), REQUEST_TIMEOUT_MS);
  assert.equal(timeoutFor('model.import'), COPY_TIMEOUT_MS);
});
