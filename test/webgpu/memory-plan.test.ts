/**
 * The memory plan on the real WebGPU adapter: its buffer limit is part of what the backend holds.
 * GPT-2 medium's token embedding (50257 x 1024 floats, 206 MB) is over lavapipe's 128 MiB storage
 * binding: the refusal says so, instead of "the model alone needs ...", which would send the
 * user looking for memory the machine has.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { backendCapacity, planWork } from '../../electron/engine/memory/fit.ts';
import { parseHFConfig } from '../../electron/engine/models/config.ts';
import { webgpuOrSkip } from './adapter.ts';

const skip = await webgpuOrSkip();

const medium = parseHFConfig({
  architectures: ['GPT2LMHeadModel'],
  model_type: 'gpt2',
  n_embd: 1024,
  n_head: 16,
  n_layer: 24,
  n_positions: 1024,
  vocab_size: 50257,
});

test("GPT-2 medium on this WebGPU adapter: refused for the adapter's buffer limit when its embedding is over it, naming both sizes", { skip }, () => {
  assert.equal(tf.getBackend(), 'webgpu');
  const cap = backendCapacity('webgpu');
  assert.ok(cap.maxTensor !== undefined && cap.maxTensor > 0, 'the adapter limits are read');
  const plan = planWork('train', medium, 1, 64, 'webgpu');
  const embedding = 4 * 50257 * 1024;
  if (cap.maxTensor! < embedding) {
    assert.equal(plan.ok, false);
    assert.match(plan.message!, /training this 35\dM-parameter GPT-2 at batch 1, ctx 64/);
    assert.match(plan.message!, /its largest weight \(206 MB\) is bigger than the largest buffer this adapter allows \(\d+ MB\)/);
    assert.doesNotMatch(plan.message!, /the model alone needs/);
  } else {
    // a GPU adapter with the binding size for it: the machine's memory decides
    assert.equal(plan.ok, plan.estimate.total <= cap.bytes, plan.message);
  }
});
