/**
 * The hand-off as a user clicks it (issue #16), in real Chromium against `scion serve`: a model
 * handed off from the Models screen (a folder Scion did not write is refused in the banner,
 * naming its file), a Scion training session handed off with its settings from the Training
 * screen, the folder's train.py run by PyTorch (Debian's python3-torch; skipped, with the reason,
 * where there is none), and the run imported with the app's button: listed as a session of the
 * model with its curve, which is Scion's curve for the same settings.
 * Screenshots: test-artifacts/e2e/ (…-handoff-imported-chart.png is docs/handoff/imported-run.png).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import type { HandoffManifest } from '../../electron/engine/handoff/write-handoff.ts';
import { readMetrics, type MetricLine } from '../../electron/engine/train/metrics.ts';
import { fixed } from '../../renderer/src/lib/format.ts';
import { findTorchPython } from '../handoff/python.ts';
import { ARTIFACTS, appFixture, expectNoError as expectNoBanner, flowSteps, REPO, setupProject, shot, startTraining } from './harness.ts';

const FIXTURE = join(REPO, 'test', 'fixtures', 'hf', 'gpt2-shakespeare-d64-l2');
const fx = appFixture('scion-e2e-handoff-', (home) => {
  const text = readFileSync(join(REPO, 'resources', 'data', 'tinyshakespeare.txt'));
  writeFileSync(join(home, 'train.txt'), text.subarray(0, 40_000));
  writeFileSync(join(home, 'val.txt'), text.subarray(text.length - 12_000));
  mkdirSync(join(home, 'thesis'));
  writeFileSync(join(home, 'thesis', 'thesis.tex'), 'keep');
});
const { python, skip: noTorch } = findTorchPython();
const home = () => fx.home();
let page: Page;
const byId = (id: string) => page.getByTestId(id);
const expectNoError = () => expectNoBanner(page);
const FOLDER_FILES = ['train.py', 'launch.sh', 'README.md', 'scion-handoff.json', 'model/config.json', 'model/model.safetensors', 'model/tokenizer.json'];
const DATA_FILES = ['data/train.bin', 'data/val.bin', 'data/val-windows.bin'];

async function fillHandoff(s: { steps?: number; out: string; val?: boolean }): Promise<void> {
  await byId('handoff-dataset').selectOption({ label: 'train' });
  if (s.val !== undefined) await byId('handoff-val').selectOption({ label: s.val ? 'val' : '(none)' });
  if (s.steps !== undefined) {
    await byId('handoff-steps').fill(String(s.steps));
    await byId('handoff-batch').fill('4');
    await byId('handoff-ctx').fill('32');
    await byId('handoff-eval-every').fill('4');
  }
  await byId('handoff-out').fill(s.out);
  await byId('handoff-start').click();
}

const sessionRow = (name: string) => byId(`session-${name}`);

test('hand off from the app, train on PyTorch, import the run', { skip: fx.skip, timeout: 420_000 }, async (t) => {
  const step = flowSteps(t, fx.page, 'handoff-');
  const out = () => join(home(), 'handoff');
  let scionCurve: MetricLine[] = [];

  await step('setup: a project, the fixture model, a training and a validation set', async () => {
    page = fx.page();
    await page.goto(fx.app().served.url);
    await setupProject(page, {
      dir: join(home(), 'project'),
      name: 'handoff',
      model: FIXTURE,
      modelName: 'shakespeare',
      datasets: { train: join(home(), 'train.txt'), val: join(home(), 'val.txt') },
    });
    await expectNoError();
  });

  await step('models: hand off this model; a folder Scion did not write is refused, naming its file', async () => {
    await byId('nav-models').click();
    await byId('model-shakespeare').click();
    await byId('model-handoff-open').click();
    await fillHandoff({ steps: 12, val: true, out: join(home(), 'thesis') });
    const banner = byId('error');
    await banner.waitFor({ timeout: 60_000 });
    const text = (await banner.textContent()) ?? '';
    assert.match(text, /Hand off shakespeare to PyTorch .* failed/);
    assert.ok(text.includes(join(home(), 'thesis')), text);
    assert.match(text, /thesis\.tex, which Scion did not write/);
    assert.equal(readFileSync(join(home(), 'thesis', 'thesis.tex'), 'utf8'), 'keep');
    await banner.getByRole('button', { name: 'dismiss' }).click();

    await byId('handoff-out').fill(join(home(), 'handoff-model'));
    await byId('handoff-start').click();
    const done = byId('handoff-done');
    await done.waitFor({ timeout: 60_000 });
    await expectNoError();
    assert.match((await done.textContent()) ?? '', /training tokens/);
    for (const f of [...FOLDER_FILES, ...DATA_FILES]) assert.ok(existsSync(join(home(), 'handoff-model', f)), f);
    await shot(page, 'handoff-model-view');
  });

  await step("training: a Scion session, then hand off with this session's settings", async () => {
    await startTraining(page, 'shakespeare (source)', 'scion', { steps: 40, batch: 4, checkpointEvery: 20 });
    await sessionRow('scion')
      .getByTestId('session-status')
      .filter({ hasText: /^done$/ })
      .waitFor({ timeout: 180_000 });
    await sessionRow('scion').getByTestId('session-handoff').click();
    await byId('handoff-card').waitFor();
    await fillHandoff({ out: out() });
    await byId('handoff-done').waitFor({ timeout: 60_000 });
    await expectNoError();
    for (const f of [...FOLDER_FILES, ...DATA_FILES]) assert.ok(existsSync(join(out(), f)), f);
    const m = JSON.parse(readFileSync(join(out(), 'scion-handoff.json'), 'utf8')) as HandoffManifest;
    assert.deepEqual(
      [m.options.steps, m.options.batch, m.options.ctx, m.options.lr, m.options.evalEvery, m.options.checkpointEvery],
      [40, 4, 32, 3e-4, 5, 20],
      "the session's settings",
    );
    const project = join(home(), 'project');
    const run = readdirRuns(project);
    assert.equal(run.length, 1);
    scionCurve = await readMetrics(join(run[0]!, 'metrics.jsonl'));
    assert.equal(m.options.seed, (JSON.parse(readFileSync(join(run[0]!, 'run.json'), 'utf8')) as { options: { seed: number } }).options.seed);
  });

  await step('import before training: refused, saying the folder has not trained yet; a run without metrics.jsonl: refused, naming it', async () => {
    await byId('import-run-dir').fill(out());
    await byId('import-run').click();
    const banner = byId('error');
    await banner.waitFor({ timeout: 30_000 });
    const text = (await banner.textContent()) ?? '';
    assert.ok(text.includes(out()), text);
    assert.match(text, /no run\.json.*has not trained yet.*launch\.sh/);
    await banner.getByRole('button', { name: 'dismiss' }).click();
    // a run folder whose metrics.jsonl is missing (run.json copied from Scion's session)
    const bare = join(home(), 'bare-run');
    mkdirSync(bare);
    copyFileSync(join(readdirRuns(join(home(), 'project'))[0]!, 'run.json'), join(bare, 'run.json'));
    await byId('import-run-dir').fill(bare);
    await byId('import-run').click();
    await banner.waitFor({ timeout: 30_000 });
    assert.match((await banner.textContent()) ?? '', new RegExp(`${join(bare, 'metrics.jsonl')}: no metrics`));
    await banner.getByRole('button', { name: 'dismiss' }).click();
  });

  const torchStep = (name: string, fn: () => Promise<void>) => (noTorch ? t.test(name, { skip: noTorch }, () => undefined) : step(name, fn));

  await torchStep("PyTorch: the folder's train.py trains the 40 steps", async () => {
    const r = spawnSync(python!, ['train.py', '--impl', 'torch', '--device', 'cpu'], {
      cwd: out(),
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(out(), 'run', 'final', 'model.safetensors')));
  });

  await torchStep('import the run: a session of the model with its curve, next to Scion’s', async () => {
    await byId('import-run-dir').fill(out());
    await byId('import-run').click();
    await byId('notice').filter({ hasText: 'Imported' }).waitFor({ timeout: 30_000 });
    await expectNoError();
    const name = 'handoff (PyTorch)';
    const row = sessionRow(name);
    await row.waitFor();
    assert.equal(await row.getByTestId('session-status').textContent(), 'done');
    assert.equal(await row.getByTestId('session-origin').textContent(), 'PyTorch');
    assert.equal(await row.getByTestId('session-step').textContent(), '40');
    assert.equal(await row.getByTestId('session-resume').count(), 0, 'a PyTorch run is not resumed in Scion');
    assert.equal(await row.locator('td').nth(3).textContent(), 'shakespeare', 'a session of the handed-off model');
    const torchCurve = await readMetrics(join(out(), 'run', 'metrics.jsonl'));
    const last = torchCurve.at(-1)!;
    assert.equal(((await row.getByTestId('session-train-loss').textContent()) ?? '').trim(), fixed(last.train_loss, 3));
    assert.match((await row.getByTestId('session-val-loss').textContent()) ?? '', new RegExp(`^\\s*${fixed(last.val_loss, 3).replace('.', '\\.')}`));
    // the chart holds both sessions' points: Scion's and PyTorch's, the same count each
    const count = (c: MetricLine[]) => c.filter((p) => p.train_loss !== undefined).length + c.filter((p) => p.val_loss !== undefined).length;
    const chart = byId('loss-chart');
    assert.equal(Number(await chart.getAttribute('data-points')), count(scionCurve) + count(torchCurve));
    assert.equal(Number(await chart.getAttribute('data-val-points')), 2 * torchCurve.filter((p) => p.val_loss !== undefined).length);
    // and they are the same curve (PyTorch float32 vs Scion's wasm backend)
    assert.deepEqual(
      torchCurve.map((p) => p.step),
      scionCurve.map((p) => p.step),
    );
    let maxDiff = 0;
    for (const [i, p] of torchCurve.entries())
      for (const k of ['train_loss', 'val_loss'] as const) if (p[k] !== undefined) maxDiff = Math.max(maxDiff, Math.abs(p[k] - scionCurve[i]![k]!));
    assert.ok(maxDiff < 1e-4, `max |loss difference| ${maxDiff}`);
    console.log(`# PyTorch vs Scion over ${torchCurve.length} lines: max |loss difference| ${maxDiff.toExponential(2)}`);
    await shot(page, 'handoff-imported');
    // docs/handoff/imported-run.png: the sessions (both) and the imported run's chart (Scion's lies exactly under it, so it is unticked)
    await byId('handoff-card').getByRole('button', { name: 'close' }).click();
    await sessionRow('scion').locator('input[type=checkbox]').uncheck();
    assert.equal(Number(await chart.getAttribute('data-points')), count(torchCurve));
    await page.evaluate('window.scrollTo(0, 0)'); // the boxes are then page coordinates, as the full-page clip wants
    const top = (await byId('sessions').boundingBox())!;
    const bottom = (await byId('loss-curves').boundingBox())!;
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({
      path: join(ARTIFACTS, 'handoff-imported-chart.png'),
      clip: { x: top.x, y: top.y, width: top.width, height: bottom.y + bottom.height - top.y },
      fullPage: true,
    });
  });
});

/** The run folders of the project's training sessions (trainings/<id>/run). */
function readdirRuns(project: string): string[] {
  const dir = join(project, 'trainings');
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .map((n) => join(dir, n, 'run'));
}
