/**
 * memory.plan, the memory line of the app's train, grow and evaluate forms: the estimate against
 * the jobs' backend as the form is filled in, and the engine's own refusal (naming the largest
 * batch / ctx that fits, and a backend that would hold it) for a choice too big, before anything
 * is started or written.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { createService } from '../../electron/service/service.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { listFiles, tempDir } from '../helpers/tmp.ts';

test('memory.plan: train, evaluate and grow lines; too big refused with what fits; nothing written', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  // the machine may be small (CI): the grown model below must be able to exist here, only not fit wasm's heap
  const machine = process.env['SCION_MACHINE_MEMORY'];
  process.env['SCION_MACHINE_MEMORY'] = String(64e9);
  t.after(() => (machine === undefined ? delete process.env['SCION_MACHINE_MEMORY'] : (process.env['SCION_MACHINE_MEMORY'] = machine)));
  const svc = createService({ recentFile: path.join(dir, 'recent.json'), backend: 'wasm' });
  t.after(() => svc.close());
  const state = await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Memory' });
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'small', copy: false });
  const before = listFiles(state.project.dir);

  const train = await svc.call('memory.plan', { work: 'train', modelId: model.id, batch: 8, ctx: 64 });
  assert.equal(train.ok, true);
  assert.deepEqual([train.backend, train.backendFrom], ['wasm', 'settings']);
  assert.match(
    train.line,
    /^Training at batch 8, ctx 64 needs about \d+ MB of the 3\.4 GB that the wasm backend's 4 GB heap holds \(wasm\): weights \d+ MB, gradients/,
  );
  assert.ok(train.bytes > 0 && train.bytes < train.capacity);
  const recomputed = await svc.call('memory.plan', { work: 'train', modelId: model.id, batch: 8, ctx: 64, recompute: true });
  assert.match(recomputed.line, /^Training at batch 8, ctx 64 with recomputation needs about/);
  assert.ok(recomputed.bytes < train.bytes, 'the recompute option is planned with');

  const big = await svc.call('memory.plan', { work: 'train', modelId: model.id, batch: 200_000, ctx: 64 });
  assert.equal(big.ok, false);
  const fits = /on wasm the largest that fits is --batch (\d+) at --ctx 64/.exec(big.refusal ?? '');
  assert.ok(fits, big.refusal);
  const n = Number(fits[1]);
  assert.equal((await svc.call('memory.plan', { work: 'train', modelId: model.id, batch: n, ctx: 64 })).ok, true, `batch ${n} was named as fitting`);
  assert.equal((await svc.call('memory.plan', { work: 'train', modelId: model.id, batch: n + 1, ctx: 64 })).ok, false, `batch ${n + 1} fits too`);

  const evaluate = await svc.call('memory.plan', { work: 'evaluate', modelIds: [model.id] });
  assert.equal(evaluate.ok, true);
  assert.match(evaluate.line, /^Evaluation at batch \d+, ctx \d+ needs about/);

  const grow = await svc.call('memory.plan', { work: 'grow', sourceId: model.id, method: 'hypercloning', widthMult: 2 });
  assert.equal(grow.ok, true);
  assert.match(grow.line, /^The growth check holds the source and the grown model with one \d+-token window: about \d+ MB of the 3\.4 GB/);
  // a shape that can exist on this machine, whose check does not fit wasm's heap: the preview passes it, the memory line refuses it
  const huge = { sourceId: model.id, method: 'zero-pad', hidden: 8192, ffn: 32768 };
  assert.equal((await svc.call('grow.preview', huge)).ok, true);
  const hugePlan = await svc.call('memory.plan', { work: 'grow', ...huge });
  assert.equal(hugePlan.ok, false);
  assert.match(
    hugePlan.refusal ?? '',
    /the function-preservation check after growth holds the source .* and the grown model .*wasm backend's 4 GB heap holds about 3\.4 GB: nothing was grown; run the grow with --backend tensorflow/,
  );
  // an impossible shape: the planner's message
  const bad = await svc.call('memory.plan', { work: 'grow', sourceId: model.id, method: 'hypercloning', hidden: 100 });
  assert.equal(bad.ok, false);
  assert.ok((bad.refusal ?? '').length > 0);

  await assert.rejects(svc.call('memory.plan', { work: 'train', modelId: model.id, batch: 0, ctx: 64 }), /batch/);
  await assert.rejects(svc.call('memory.plan', { work: 'nap' } as never), /work/);
  assert.deepEqual(listFiles(state.project.dir), before, 'planning wrote nothing');
});

test("memory.plan without a named backend: the last job's, else the automatic choice, said so", async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const env = process.env['SCION_BACKEND'];
  delete process.env['SCION_BACKEND'];
  t.after(() => (env === undefined ? undefined : (process.env['SCION_BACKEND'] = env)));
  const svc = createService({ recentFile: path.join(dir, 'recent.json') });
  t.after(() => svc.close());
  await svc.call('project.create', { dir: path.join(dir, 'proj'), name: 'Auto' });
  const model = await svc.call('model.import', { path: fixtureDir('gpt2-shakespeare-d64-l2'), name: 'small', copy: false });
  const p = await svc.call('memory.plan', { work: 'train', modelId: model.id, batch: 1, ctx: 16 });
  assert.equal(p.backendFrom, 'assumed');
  assert.ok(['wasm', 'tensorflow', 'tensorflow-gpu'].includes(p.backend), p.backend);
});
