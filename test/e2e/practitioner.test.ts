/**
 * The app as a practitioner uses it (issue #12), in real Chromium against `scion serve` with
 * the real engine: samples from a source and its HyperCloning variant side by side (streamed,
 * the same text as `scion generate` for the same seed), a training session that says
 * "running" while it runs, validation curves with best points, losses labelled, tokens/s and
 * elapsed time, runs compared, the job log, PNG and CSV exports, the log scale and a diverged
 * run that does not flatten the others, and the backend that ran in the footer.
 * Screenshots: test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import {
  appFixture,
  expectNoError as expectNoBanner,
  flowSteps,
  REPO,
  runSmallExperiment,
  setupProject,
  shot,
  startTraining as startTrainingIn,
  waitUntil,
} from './harness.ts';

const FIXTURE = join(REPO, 'test', 'fixtures', 'hf', 'gpt2-shakespeare-d64-l2');
const fx = appFixture('scion-e2e-practice-', (home) => {
  const text = readFileSync(join(REPO, 'resources', 'data', 'tinyshakespeare.txt'));
  writeFileSync(join(home, 'train.txt'), text.subarray(0, 40_000));
  writeFileSync(join(home, 'val.txt'), text.subarray(text.length - 12_000));
});
const skip = fx.skip;
const home = () => fx.home();
const project = () => join(home(), 'practice');
let page: Page;

const byId = (id: string) => page.getByTestId(id);
const expectNoError = () => expectNoBanner(page);

const startTraining = (model: string, name: string, s: { steps: number; lr?: number; val?: boolean }) => startTrainingIn(page, model, name, s);
const doneRow = (name: string) =>
  byId(`session-${name}`)
    .getByTestId('session-status')
    .filter({ hasText: /^done$/ })
    .waitFor({ timeout: 120_000 });

test('the practitioner flow', { skip, timeout: 420_000 }, async (t) => {
  const step = flowSteps(t, fx.page, 'practice-');

  await step('setup: a project, the fixture model, two datasets, a HyperCloning x2 variant', async () => {
    page = fx.page();
    await page.goto(fx.app().served.url);
    await setupProject(page, {
      dir: project(),
      name: 'practice',
      model: FIXTURE,
      modelName: 'shakespeare',
      datasets: { train: join(home(), 'train.txt'), val: join(home(), 'val.txt') },
    });
    await byId('nav-grow').click();
    await byId('grow-method').selectOption('hypercloning');
    await byId('grow-hidden').fill('128');
    await byId('grow-preview').filter({ hasText: 'parameters' }).waitFor();
    await byId('grow-name').fill('shakespeare-x2');
    await byId('grow-start').click();
    await byId('grow-verdict').waitFor({ timeout: 90_000 });
    await expectNoError();
  });

  await step('sample: greedy text of the source and its exact variant is the same, streamed', async () => {
    await byId('nav-sample').click();
    await byId('sample-root').selectOption({ label: 'shakespeare (source)' });
    assert.ok(await byId('sample-model-shakespeare').isChecked());
    assert.ok(await byId('sample-model-shakespeare-x2').isChecked(), 'the grown variant is picked with its source');
    await byId('sample-prompt').fill('ROMEO:');
    await byId('sample-tokens').fill('300');
    await byId('sample-temperature').fill('0');
    await byId('sample-start').click();
    const samples = byId('samples');
    const first = byId('sample-shakespeare').getByTestId('sample-text');
    // streamed: the source's text shows while the job is still running
    await waitUntil(
      'streamed text while the job runs',
      async () => (await samples.getAttribute('data-status')) === 'running' && ((await first.textContent()) ?? '').length > 0,
      90_000,
    );
    await waitUntil('the sample job to finish', async () => (await samples.getAttribute('data-status')) === 'done', 120_000);
    const a = (await first.textContent()) ?? '';
    const b = (await byId('sample-shakespeare-x2').getByTestId('sample-text').textContent()) ?? '';
    assert.ok(a.length > 100, `a long text: ${a.length} characters`);
    assert.equal(b, a, 'HyperCloning is exact: greedy decoding gives the same text');
    await byId('sample-shakespeare-x2').getByTestId('sample-same').waitFor();
    await expectNoError();
  });

  await step('sample: with temperature and a seed, the panel shows what `scion generate` prints for that seed', async () => {
    await byId('sample-tokens').fill('40');
    await byId('sample-temperature').fill('0.9');
    await byId('sample-topk').fill('20');
    await byId('sample-seed').fill('11');
    const previous = await byId('samples').getAttribute('data-job');
    await byId('sample-start').click();
    const samples = byId('samples');
    await waitUntil(
      'the new sample job to finish',
      async () => (await samples.getAttribute('data-job')) !== previous && (await samples.getAttribute('data-status')) === 'done',
      120_000,
    );
    const shown = (await byId('sample-shakespeare').getByTestId('sample-text').textContent()) ?? '';
    const cli = spawnSync(
      process.execPath,
      [
        join(REPO, 'bin', 'scion.js'),
        'generate',
        FIXTURE,
        '--prompt',
        'ROMEO:',
        '--tokens',
        '40',
        '--temperature',
        '0.9',
        '--top-k',
        '20',
        '--seed',
        '11',
        '--json',
      ],
      { encoding: 'utf8', env: { ...process.env, SCION_BACKEND: 'wasm' } },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(shown, (JSON.parse(cli.stdout) as { text: string }).text);
    await shot(page, 'sample-panel');
  });

  await step('training: the session says running while its job runs, and done at the end', async () => {
    await startTraining('shakespeare-x2 (grown)', 'x2-val', { steps: 40, lr: 0.0001 });
    const row = byId('session-x2-val');
    await waitUntil(
      'the job bar to say running',
      async () =>
        /running/.test(
          (await byId('jobbar')
            .textContent()
            .catch(() => '')) ?? '',
        ),
      90_000,
    );
    await waitUntil('the session to say running', async () => (await row.getByTestId('session-status').textContent()) === 'running', 10_000);
    await doneRow('x2-val');
    await expectNoError();
  });

  await step('training: validation curve with its best point, losses labelled, tokens/s and elapsed time', async () => {
    const chart = byId('loss-chart');
    assert.ok(Number(await chart.getAttribute('data-val-points')) >= 9, 'step 0 and every 5 steps to 40');
    const row = byId('session-x2-val');
    assert.match((await row.getByTestId('session-train-loss').textContent()) ?? '', /^\d+\.\d{3}$/);
    assert.match((await row.getByTestId('session-val-loss').textContent()) ?? '', /\d+\.\d{3}\s*\(\d+\.\d{3} at \d+\)/);
    assert.match((await row.getByTestId('session-tps').textContent()) ?? '', /^\d/);
    assert.match((await row.getByTestId('session-elapsed').textContent()) ?? '', /^\d+s|m/);
    const head = (await page.locator('table.sessions thead').textContent()) ?? '';
    assert.match(head, /Train loss/);
    assert.match(head, /Val loss/);
  });

  await step('training: a second run, compared; the job log; PNG and CSV exports', async () => {
    await startTraining('shakespeare (source)', 'source-val', { steps: 20, lr: 0.0003 });
    await doneRow('source-val');
    const lrRow = byId('run-compare').getByTestId('compare-learning-rate');
    assert.match((await lrRow.getAttribute('class')) ?? '', /differs/);
    assert.match((await lrRow.textContent()) ?? '', /0\.0001.*0\.0003/);
    await shot(page, 'training-validation-curves');

    await byId('session-x2-val').getByTestId('session-log').click();
    const log = byId('job-log');
    await log.filter({ hasText: /step/ }).waitFor({ timeout: 10_000 });

    const [csvDl] = await Promise.all([page.waitForEvent('download'), byId('metrics-csv').click()]);
    const csv = readFileSync((await csvDl.path())!, 'utf8')
      .trim()
      .split(/\r?\n/);
    assert.equal(csv[0], 'session,step,train_loss,val_loss,lr,tokens,seconds');
    assert.equal(csv.filter((l) => l.startsWith('x2-val,')).length, 41, 'step 0 (validation only) and 40 steps');
    assert.ok(
      csv.some((l) => /^x2-val,0,,\d/.test(l)),
      'the validation loss before training',
    );
    const [pngDl] = await Promise.all([page.waitForEvent('download'), byId('chart-png').click()]);
    const png = readFileSync((await pngDl.path())!);
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG file');
    assert.ok(png.length > 5000, `${png.length} bytes`);
    await expectNoError();
  });

  await step('training: a diverged run does not flatten the others; the log scale shows everything', async () => {
    await startTraining('shakespeare (source)', 'diverged', { steps: 15, lr: 30, val: false });
    await doneRow('diverged');
    const chart = byId('loss-chart');
    await waitUntil('the diverged values left off the linear axis', async () => Number(await chart.getAttribute('data-clipped')) > 0, 10_000);
    await byId('chart-clipped').waitFor();
    await shot(page, 'training-diverged-linear');
    await byId('chart-log').check();
    assert.equal(await chart.getAttribute('data-scale'), 'log');
    assert.equal(await chart.getAttribute('data-clipped'), '0');
    await shot(page, 'training-diverged-log');
  });

  await step('training: rename and delete a session (its folder goes, its model stays)', async () => {
    const sessions = () => readdirSync(join(project(), 'trainings')).filter((n) => !n.startsWith('.')).length;
    const before = sessions();
    page.once('dialog', (d) => void d.accept('diverged lr 30'));
    await byId('session-diverged').getByTestId('session-rename').click();
    await byId('session-diverged lr 30').waitFor();
    page.once('dialog', (d) => void d.accept());
    await byId('session-diverged lr 30').getByTestId('session-delete').click();
    await byId('session-diverged lr 30').waitFor({ state: 'detached' });
    assert.equal(sessions(), before - 1);
    await byId('nav-models').click();
    await byId('model-diverged').waitFor();
    await byId('nav-training').click();
    await expectNoError();
  });

  await step('evaluations: every window by default, the token count, a standard error per cell, "acc" explained', async () => {
    await byId('nav-evaluations').click();
    assert.equal(await byId('eval-windows').inputValue(), '256');
    await byId('eval-windows').fill('');
    for (const id of ['eval-model-shakespeare', 'eval-model-shakespeare-x2', 'eval-dataset-val']) await byId(id).check();
    await byId('eval-start').click();
    const grown = byId('eval-cell-shakespeare-x2-val');
    await grown.filter({ hasText: 'tokens' }).waitFor({ timeout: 90_000 });
    await waitUntil('both cells', async () => (await page.locator('[data-testid^=eval-cell-]').filter({ hasText: 'tokens' }).count()) === 2, 60_000);
    const src = (await byId('eval-cell-shakespeare-val').textContent()) ?? '';
    // all of the 12,000-character held-out file: far more than the old default of 8 windows (1,016 tokens)
    const tokens = /([\d.]+k?) tokens \((\d+) windows of (\d+)\)/.exec(src);
    assert.ok(tokens, src);
    assert.ok(Number(tokens[2]) * (Number(tokens[3]) - 1) > 2000, src);
    assert.match(src, /\d\.\d{4} ± 0\.\d{4}/, 'a standard error');
    assert.match((await grown.textContent()) ?? '', /= parent/, 'HyperCloning is exact');
    assert.match((await byId('eval-legend').textContent()) ?? '', /Accuracy: the share of next tokens predicted\s+exactly/);
    await shot(page, 'evaluations-stderr');
    await expectNoError();
  });

  await step('experiments: the report leads with what was measured; a run below the target claims no speed-up', async () => {
    await runSmallExperiment(page, 'shakespeare', 'val');
    await expectNoError();
    const measured = (await byId('experiment-measured').textContent()) ?? '';
    assert.match(measured, /hypercloning: validation loss \d\.\d{3} -> \d\.\d{3} in 10 steps/);
    assert.match(measured, /hypercloning vs scratch at equal steps and training FLOPs \(10 steps/);
    const runs = (await byId('experiment-runs').textContent()) ?? '';
    assert.doesNotMatch(runs, />= ?\d/);
    assert.doesNotMatch(runs, /100\.0%/);
    if (/started below/.test(runs)) assert.match(runs, /none measured: below the target before training/);
    await shot(page, 'experiment-measured');
  });

  await step('two tabs: each has its own project; a dataset added in one lands in its project', async () => {
    const tab2 = await fx.app().browser.newPage({ viewport: { width: 1320, height: 900 } });
    await tab2.goto(fx.app().served.url);
    await tab2.getByTestId('import-path').waitFor();
    await tab2.getByTestId('nav-projects').click();
    await tab2.getByTestId('create-dir').fill(join(home(), 'other'));
    await tab2.getByTestId('create-name').fill('other');
    await tab2.getByTestId('create-project').click();
    await tab2.getByTestId('import-path').waitFor();
    // tab 1 did not switch: it adds a dataset to its own project
    await byId('nav-datasets').click();
    await byId('dataset-path').fill(join(home(), 'val.txt'));
    await byId('dataset-name').fill('extra');
    await byId('dataset-add').click();
    await byId('dataset-extra').waitFor({ timeout: 30_000 });
    assert.equal(readdirSync(join(project(), 'datasets')).length, 3);
    assert.ok(!existsSync(join(home(), 'other', 'datasets')) || readdirSync(join(home(), 'other', 'datasets')).length === 0, 'nothing in the other project');
    await tab2.getByTestId('nav-datasets').click();
    assert.equal(await tab2.getByTestId('dataset-extra').count(), 0);
    assert.match((await tab2.locator('nav .foot').textContent()) ?? '', /other/);
    // a reload keeps each tab's project
    await page.reload();
    await byId('nav-datasets').click();
    await byId('dataset-extra').waitFor();
    assert.match((await page.locator('nav .foot').textContent()) ?? '', /practice/);
    await tab2.close();
    await expectNoError();
  });

  await step('datasets: a train/validation split of one file from the form', async () => {
    await byId('nav-datasets').click();
    await byId('dataset-path').fill(join(home(), 'train.txt'));
    await byId('dataset-name').fill('tail');
    await byId('dataset-from').fill('0.9');
    await byId('dataset-to').fill('1');
    await byId('dataset-add').click();
    await byId('dataset-tail').waitFor({ timeout: 30_000 });
    assert.match((await byId('dataset-tail').getByTestId('dataset-split').textContent()) ?? '', /tokens 90%–100% of the file/);
    await expectNoError();
  });

  await step('backend: the footer and the model details name the backend the jobs ran on, not "auto"', async () => {
    const footer = (await byId('footer-backend').textContent()) ?? '';
    assert.equal(footer.trim(), 'wasm');
    await byId('nav-models').click();
    await byId('model-shakespeare').click();
    assert.match((await byId('model-backend').textContent()) ?? '', /^wasm/);
  });

  await step('model card: size on disk, dtype, growth.json, lineage, the training session', async () => {
    await byId('model-shakespeare').click();
    await byId('model-size').filter({ hasText: 'weights' }).waitFor();
    assert.match((await byId('model-size').textContent()) ?? '', /\d+(\.\d)? (KiB|MiB) in \d+ files · weights F32/);
    await byId('model-shakespeare-x2').click();
    await byId('model-growth').waitFor();
    await byId('model-growth').locator('summary').click();
    const growth = (await byId('model-growth').textContent()) ?? '';
    assert.match(growth, /"method": "hypercloning"/);
    assert.match(growth, /"verdict": "exact"/);
    assert.equal(((await byId('model-lineage').textContent()) ?? '').trim(), 'shakespeare (source) → shakespeare-x2 (grown)');
    await byId('model-x2-val').click();
    assert.match((await byId('model-training').textContent()) ?? '', /session x2-val: 40 steps, batch 2 x 32/);
    assert.match((await byId('model-lineage').textContent()) ?? '', /shakespeare \(source\) → shakespeare-x2 \(grown\) → x2-val \(trained\)/);
    await shot(page, 'model-card');
    await expectNoError();
  });
});
