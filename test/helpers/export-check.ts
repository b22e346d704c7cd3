/** The export round trip every family's engine test runs: load a folder, export it, reload it bit for bit. */
import * as tf from '@tensorflow/tfjs-core';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ModelConfig } from '../../electron/engine/models/config.ts';
import { disposeParams, loadModel, saveModel } from '../../electron/engine/models/model.ts';
import { readArrays } from '../growth/helpers.ts';
import type { Json } from './family-models.ts';

/**
 * Loads `dir` (its config must parse to `config`), exports it to `out` without leaking a
 * tensor, and checks the reloaded config and every tensor of `arrays` bit for bit. Returns the
 * written config.json.
 */
export async function exportRoundTrip(dir: string, out: string, config: ModelConfig, arrays: Map<string, Float32Array>): Promise<Json> {
  const before = tf.memory().numTensors;
  const model = await loadModel(dir);
  assert.deepEqual(model.config, config);
  await saveModel(out, model.config, model.params, model.rawConfig, { copyFrom: dir });
  disposeParams(model.params);
  assert.equal(tf.memory().numTensors, before);
  const again = await readArrays(out);
  assert.deepEqual(again.config, config);
  assert.deepEqual([...again.arrays.keys()].sort(), [...arrays.keys()].sort());
  for (const [n, a] of arrays) assert.deepEqual(again.arrays.get(n), a, n);
  return JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as Json;
}
