/**
 * `scion handoff` and `scion import-run` as a user meets them: the real CLI in child processes,
 * a fixture model with its tokenizer, the folder's train.py run by PyTorch (Debian's
 * python3-torch in CI, through the plain-PyTorch models since transformers is not packaged
 * there), one process and torchrun with two, stopped and resumed twice, and the run brought back
 * into a project. The PyTorch curve is checked against `scion train`'s on the same settings, and
 * the plain-PyTorch models against the transformers reference logits of the fixtures.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { growModelDir } from '../../electron/engine/growth/model-dir.ts';
import { initBackend } from '../../electron/engine/backend.ts';
import type { HandoffManifest } from '../../electron/engine/handoff/write-handoff.ts';
import { readModelConfig } from '../../electron/engine/models/model.ts';
import { loadTokenizer } from '../../electron/engine/tokenizer/tokenizer.ts';
import { loadTokens, spreadWindows } from '../../electron/engine/train/data.ts';
import { readMetrics, type MetricLine } from '../../electron/engine/train/metrics.ts';
import { resolveTrainOptions } from '../../electron/engine/train/options.ts';
import { Rng, subSeed } from '../../electron/engine/rng.ts';
import { Project } from '../../electron/store/project.ts';
import { fixtureDir, FIXTURES, ROOT } from '../helpers/fixtures.ts';
import { listFiles, tempDir } from '../helpers/tmp.ts';
import { findTorchPython } from './python.ts';

const SCION = path.join(ROOT, 'bin', 'scion.js');
const MODEL = fixtureDir('gpt2-shakespeare-d64-l2');
const TEXT = path.join(ROOT, 'resources', 'data', 'tinyshakespeare.txt');
// a constant phase (--hold) before the cosine decay: train.py computes the same rates
const SETTINGS = ['--steps', '12', '--batch', '4', '--ctx', '32', '--hold', '3', '--eval-every', '4', '--eval-windows', '8', '--checkpoint-every', '4'];
const DATA = ['--data', `${TEXT}#0-0.9`, '--val', `${TEXT}#0.9-1`];
const { python, skip } = findTorchPython();

function scion(args: string[]) {
  return spawnSync(process.execPath, [SCION, ...args], { encoding: 'utf8', env: { ...process.env, SCION_BACKEND: 'wasm' } });
}

function py(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(python!, args, { cwd, encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', ...env } });
  return r;
}

function hashTree(dir: string): string {
  const h = createHash('sha256');
  for (const f of listFiles(dir)) h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest('hex');
}

/**
 * Compares two metric curves step by step: train/val loss within `tol`, lr exact, grad_norm within
 * `normTol` relative (Scion's wasm norm is a float32 sum, 0.01-0.1% off a float64 one: issue 13).
 */
function sameCurve(a: MetricLine[], b: MetricLine[], tol: number, normTol = 2e-3): void {
  assert.deepEqual(
    a.map((m) => m.step),
    b.map((m) => m.step),
  );
  for (const [i, m] of a.entries()) {
    const n = b[i]!;
    for (const k of ['train_loss', 'val_loss'] as const) {
      assert.equal(m[k] === undefined, n[k] === undefined, `step ${m.step}: ${k} present in one run only`);
      if (m[k] !== undefined) assert.ok(Math.abs(m[k] - n[k]!) <= tol, `step ${m.step}: ${k} ${m[k]} vs ${n[k]}`);
    }
    assert.equal(m.lr, n.lr, `step ${m.step}: lr`);
    assert.equal(m.tokens, n.tokens);
    if (m.grad_norm !== undefined)
      assert.ok(Math.abs(m.grad_norm - n.grad_norm!) <= normTol * m.grad_norm, `step ${m.step}: grad_norm ${m.grad_norm} vs ${n.grad_norm}`);
  }
}

/**
 * Runs `scion train` with `settings` into `ref` and the handoff `dir`'s train.py into `dir/out`;
 * checks the curves agree (13 lines: step 0 and 12 steps) and returns train.py's.
 */
function sameAsScionTrain(dir: string, settings: string[], ref: string, out: string): MetricLine[] {
  const s = scion(['train', MODEL, ...DATA, ...settings, '--out', ref]);
  assert.equal(s.status, 0, s.stderr);
  const t = py(['train.py', '--impl', 'torch', '--device', 'cpu', '--out', out], dir);
  assert.equal(t.status, 0, t.stderr);
  const torchCurve = readMetricsSync(path.join(dir, out, 'metrics.jsonl'));
  assert.equal(torchCurve.length, 13);
  sameCurve(readMetricsSync(path.join(ref, 'metrics.jsonl')), torchCurve, 1e-4);
  return torchCurve;
}

describe('scion handoff', () => {
  const tmp = tempDir('scion-handoff-');
  const folder = path.join(tmp.dir, 'handoff');
  let manifest: HandoffManifest;
  before(async () => {
    await initBackend('wasm');
    const r = scion(['handoff', MODEL, ...DATA, ...SETTINGS, '--out', folder, '--json']);
    assert.equal(r.status, 0, r.stderr);
    manifest = JSON.parse(readFileSync(path.join(folder, 'scion-handoff.json'), 'utf8')) as HandoffManifest;
  });
  after(() => tmp.cleanup());

  test('writes the model, the tokens and windows Scion trains and evaluates on, and the options of scion train', async () => {
    const { config } = await readModelConfig(MODEL);
    const expected = resolveTrainOptions(
      {
        model: MODEL,
        data: `${TEXT}#0-0.9`,
        val: `${TEXT}#0.9-1`,
        out: folder,
        steps: 12,
        batch: 4,
        ctx: 32,
        evalEvery: 4,
        evalWindows: 8,
        checkpointEvery: 4,
        hold: 3,
      },
      config,
    );
    assert.deepEqual(manifest.options, expected);
    const tok = await loadTokenizer(MODEL);
    const train = await loadTokens(`${TEXT}#0-0.9`, tok, config.vocabSize);
    const bin = readFileSync(path.join(folder, 'data', 'train.bin'));
    assert.equal(manifest.data.train.dtype, 'uint16');
    assert.deepEqual(new Uint16Array(bin.buffer, bin.byteOffset, bin.byteLength / 2), Uint16Array.from(train));
    const val = await loadTokens(`${TEXT}#0.9-1`, tok, config.vocabSize);
    const win = readFileSync(path.join(folder, 'data', 'val-windows.bin'));
    assert.deepEqual(new Uint16Array(win.buffer, win.byteOffset, win.byteLength / 2), Uint16Array.from(spreadWindows(val, 33, 8)));
    assert.equal(manifest.data.val_windows?.ctx, 33);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json'])
      assert.deepEqual(readFileSync(path.join(folder, 'model', f)), readFileSync(path.join(MODEL, f)), `model/${f} is a copy`);
    for (const [rel, sha] of Object.entries(manifest.files))
      assert.equal(
        createHash('sha256')
          .update(readFileSync(path.join(folder, rel)))
          .digest('hex'),
        sha,
        rel,
      );
    assert.ok(statSync(path.join(folder, 'launch.sh')).mode & 0o100, 'launch.sh is executable');
    assert.match(readFileSync(path.join(folder, 'README.md'), 'utf8'), /12 steps of 4 x 32 tokens/);
  });

  test('refuses an --out that overlaps its inputs, or a folder it did not write, before writing anything', () => {
    const before = hashTree(FIXTURES);
    const r1 = scion(['handoff', MODEL, ...DATA, ...SETTINGS, '--out', path.dirname(MODEL), '--force']);
    assert.equal(r1.status, 2);
    assert.match(r1.stderr, /the output folder contains the model .*gpt2-shakespeare-d64-l2/);
    const r2 = scion(['handoff', MODEL, ...DATA, ...SETTINGS, '--out', path.join(MODEL, 'handoff')]);
    assert.equal(r2.status, 2);
    assert.equal(hashTree(FIXTURES), before, 'the fixtures are untouched');
    const mine = path.join(tmp.dir, 'thesis');
    mkdirSync(mine);
    writeFileSync(path.join(mine, 'thesis.tex'), 'keep');
    const r3 = scion(['handoff', MODEL, ...DATA, ...SETTINGS, '--out', mine, '--force']);
    assert.equal(r3.status, 1);
    assert.match(r3.stderr, /thesis\.tex, which Scion did not write/);
    assert.equal(readFileSync(path.join(mine, 'thesis.tex'), 'utf8'), 'keep');
    const r4 = scion(['handoff', MODEL, ...DATA, ...SETTINGS, '--steps', '0', '--out', path.join(tmp.dir, 'never')]);
    assert.equal(r4.status, 2);
    assert.ok(!existsSync(path.join(tmp.dir, 'never')));
  });

  test("train.py's generator is Scion's data order, draw for draw", { skip }, () => {
    const code = `import sys; sys.path.insert(0, '.'); import train as t
r = t.Rng(t.sub_seed(7, 'data')); print(t.sub_seed(0, 'init'), ' '.join(str(r.int(1000003)) for _ in range(2000)))`;
    const r = py(['-c', code], folder);
    assert.equal(r.status, 0, r.stderr);
    const rng = new Rng(subSeed(7, 'data'));
    const ours = `${subSeed(0, 'init')} ${Array.from({ length: 2000 }, () => rng.int(1000003)).join(' ')}`;
    assert.equal(r.stdout.trim(), ours);
  });

  test('the plain-PyTorch models give the transformers reference logits of every fixture', { skip }, () => {
    const code = `import sys, json; sys.path.insert(0, '.'); import torch, scion_torch_models as m
out = {}
for d in sys.argv[1:]:
    model = m.load_torch_model(d).eval()
    e = m.read_safetensors(d + '/expected.safetensors')
    with torch.no_grad(): logits = model(e['probe_input_ids'].long())
    out[d] = (logits - e['probe_logits']).abs().max().item()
print(json.dumps(out))`;
    const dirs = ['gpt2-random-d64-l2', 'gpt2-shakespeare-d64-l2', 'llama-shakespeare-h64-l2', 'llama-shakespeare-h64-l2-hypercloned-x2'].map((n) =>
      path.join(FIXTURES, n),
    );
    const r = py(['-c', code, ...dirs], folder);
    assert.equal(r.status, 0, r.stderr);
    for (const [d, diff] of Object.entries(JSON.parse(r.stdout) as Record<string, number>)) assert.ok(diff < 1e-4, `${d}: max |dlogit| ${diff}`);
  });

  test("train.py reproduces scion train's curve; torchrun with 2 processes gives the same; a run stopped twice resumes exactly", { skip }, () => {
    const torchCurve = sameAsScionTrain(folder, SETTINGS, path.join(tmp.dir, 'scion-run'), 'run-1');

    const two = spawnSync('./launch.sh', ['--impl', 'torch', '--device', 'cpu', '--out', 'run-2'], {
      cwd: folder,
      encoding: 'utf8',
      env: { ...process.env, PYTHON: python!, GPUS: '2', TORCHRUN_ARGS: '--redirects 1 --tee 1', OMP_NUM_THREADS: '1' },
    });
    assert.equal(two.status, 0, two.stderr);
    sameCurve(torchCurve, readMetricsSync(path.join(folder, 'run-2', 'metrics.jsonl')), 1e-5, 1e-5);

    const a = py(['train.py', '--impl', 'torch', '--device', 'cpu', '--out', 'run-3', '--stop-after', '5'], folder);
    assert.equal(a.status, 130, a.stderr);
    const b = py(['train.py', '--impl', 'torch', '--device', 'cpu', '--out', 'run-3', '--resume', '--stop-after', '2'], folder);
    assert.equal(b.status, 130, b.stderr);
    assert.match(b.stderr, /resuming .* from step 5/);
    const c = py(['train.py', '--impl', 'torch', '--device', 'cpu', '--out', 'run-3', '--resume'], folder);
    assert.equal(c.status, 0, c.stderr);
    const resumed = readMetricsSync(path.join(folder, 'run-3', 'metrics.jsonl'));
    assert.deepEqual(
      resumed.map(({ time: _t, ...m }) => m),
      torchCurve.map(({ time: _t, ...m }) => m),
      'identical metrics, no gap or duplicate',
    );
    const fresh = py(['train.py', '--impl', 'torch', '--device', 'cpu', '--out', 'run-3'], folder);
    assert.notEqual(fresh.status, 0, 'a second start into a run folder is refused');
    assert.match(fresh.stderr, /already there/);
  });

  test("--sampler sequential: train.py reads scion train's windows in order; data too short for it is refused before writing", { skip }, () => {
    const seqFolder = path.join(tmp.dir, 'handoff-sequential');
    const seq = [...SETTINGS, '--sampler', 'sequential', '--grad-accum', '2'];
    const h = scion(['handoff', MODEL, ...DATA, ...seq, '--out', seqFolder]);
    assert.equal(h.status, 0, h.stderr);
    sameAsScionTrain(seqFolder, seq, path.join(tmp.dir, 'scion-run-sequential'), 'run');
    const m = JSON.parse(readFileSync(path.join(seqFolder, 'scion-handoff.json'), 'utf8')) as HandoffManifest;
    assert.equal(m.options.sampler, 'sequential');

    const short = path.join(tmp.dir, 'handoff-too-short');
    const r = scion(['handoff', MODEL, '--data', `${TEXT}#0-0.001`, ...seq, '--out', short]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /read sequentially need \d+: the run would repeat data/);
    assert.ok(!existsSync(short));
  });

  test('import-run brings the run into a project as a session of its model; Scion does not resume it', { skip }, async () => {
    const proj = path.join(tmp.dir, 'project');
    const src = path.join(tmp.dir, 'import-me');
    const w = scion(['handoff', MODEL, ...DATA, ...SETTINGS, '--out', src]);
    assert.equal(w.status, 0, w.stderr);
    const none = scion(['import-run', src, '--project', proj]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /has not trained yet/);
    const t = py(['train.py', '--impl', 'torch', '--device', 'cpu'], src);
    assert.equal(t.status, 0, t.stderr);
    const r = scion(['import-run', src, '--project', proj, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { training_id: string; result_model_id: string; steps: number; final_val_loss: number };
    assert.equal(out.steps, 12);
    const p = await Project.open(proj);
    const session = p.trainings.get(out.training_id)!;
    assert.equal(session.origin, 'handoff');
    assert.equal(session.status, 'done');
    assert.equal(p.models.get(session.modelId)!.path, MODEL, 'a session of the model it was handed off from');
    // the two fractions of one file are two datasets, each with its split
    assert.deepEqual(p.datasets.get(session.datasetId)!.split, { from: 0, to: 0.9 });
    assert.deepEqual(p.datasets.get(session.valDatasetId!)!.split, { from: 0.9, to: 1 });
    const trained = p.models.get(out.result_model_id)!;
    const metrics = await readMetrics(path.join(session.runDir, 'metrics.jsonl'));
    assert.equal(session.finalValLoss, metrics[metrics.length - 1]!.val_loss);
    // Scion reads the PyTorch-written final model: its loss on the same windows is the run's last val_loss
    const e = scion(['eval', trained.path, '--data', path.join(src, 'data', 'val-windows.bin'), '--ctx', '33', '--json']);
    assert.equal(e.status, 0, e.stderr);
    assert.ok(Math.abs((JSON.parse(e.stdout) as { loss: number }).loss - out.final_val_loss) < 1e-4);
    const again = scion(['import-run', src, '--project', proj, '--json']);
    assert.equal((JSON.parse(again.stdout) as { training_id: string }).training_id, out.training_id, 'importing again updates the same session');
    const replace = scion(['handoff', MODEL, ...DATA, ...SETTINGS, '--out', src, '--force']);
    assert.equal(replace.status, 1, 'a hand-off folder that trained holds the run: never replaced');
    assert.match(replace.stderr, /run\/, which Scion did not write/);
    assert.ok(existsSync(path.join(src, 'run', 'final', 'model.safetensors')));
    const resume = scion(['train', '--resume', session.runDir]);
    assert.equal(resume.status, 1);
    assert.match(resume.stderr, /trained on PyTorch from a hand-off folder/);
  });

  test('a masked-growth model ramps in on PyTorch exactly as in Scion', { skip }, async () => {
    const grown = path.join(tmp.dir, 'msg');
    await growModelDir(fixtureDir('llama-shakespeare-h64-l2'), grown, { method: 'msg', hidden: 96, ffn: 192, checkLength: 32 });
    const flags = ['--steps', '8', '--batch', '4', '--ctx', '32', '--eval-every', '2', '--eval-windows', '4', '--mask-ramp', '4'];
    const out = path.join(tmp.dir, 'msg-handoff');
    const w = scion(['handoff', grown, ...DATA, ...flags, '--out', out]);
    assert.equal(w.status, 0, w.stderr);
    const ref = path.join(tmp.dir, 'msg-scion');
    const s = scion(['train', grown, ...DATA, ...flags, '--out', ref]);
    assert.equal(s.status, 0, s.stderr);
    const t = py(['train.py', '--impl', 'torch', '--device', 'cpu'], out);
    assert.equal(t.status, 0, t.stderr);
    sameCurve(readMetricsSync(path.join(ref, 'metrics.jsonl')), readMetricsSync(path.join(out, 'run', 'metrics.jsonl')), 1e-4);
  });
});

function readMetricsSync(file: string): MetricLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as MetricLine);
}
