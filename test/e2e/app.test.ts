/**
 * The app end to end, in real Chromium against `scion serve` with the real engine behind it:
 * create a project, import the fixture model, grow it, add two datasets and evaluate on
 * both, train and watch the curve grow live, pause and resume, export; and bad input through
 * the UI (a folder that is not a model, an impossible shape, a dataset that is not text)
 * gives a readable message and changes nothing on disk. Screenshots: test-artifacts/e2e/.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { quickGrowArgs, scionChild } from '../helpers/scion-child.ts';
import {
  chromiumMissing,
  cleanup,
  launchBrowser,
  REPO,
  runSmallExperiment,
  shot,
  snapshotTree,
  startServe,
  tempHome,
  waitUntil,
  type Served,
} from './harness.ts';

const skip = chromiumMissing();
if (skip) console.log(`# e2e skipped: ${skip}`);

const FIXTURE = join(REPO, 'test', 'fixtures', 'hf', 'gpt2-shakespeare-d64-l2');
let home = '';
let served: Served | undefined;
let browser: Browser | undefined;
let page: Page;
const project = () => join(home, 'project');

before(async () => {
  if (skip) return;
  home = tempHome('scion-e2e-');
  // Small slices of the product data: two text datasets, and a file that is not text.
  writeFileSync(join(home, 'shakespeare.txt'), readFileSync(join(REPO, 'resources', 'data', 'tinyshakespeare.txt')).subarray(0, 24_000));
  writeFileSync(join(home, 'wikitext.txt'), readFileSync(join(REPO, 'resources', 'data', 'wikitext2-valid.txt')).subarray(0, 24_000));
  writeFileSync(join(home, 'weights.txt'), readFileSync(join(FIXTURE, 'model.safetensors')).subarray(0, 4096));
  mkdirSync(join(home, 'not-a-model'));
  writeFileSync(join(home, 'not-a-model', 'notes.txt'), 'just some notes\n');
  served = await startServe(home);
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1320, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
});

after(async () => {
  await browser?.close();
  await served?.stop();
  if (served && process.env['SCION_E2E_LOG']) console.log(served.stderr());
  if (home) cleanup(home);
});

const byId = (id: string) => page.getByTestId(id);
async function expectNoError(): Promise<void> {
  const err = byId('error');
  if (await err.isVisible()) assert.fail(`unexpected error banner: ${await err.textContent()}`);
}
/** Waits for the error banner, screenshots it, dismisses it, and returns its text. */
async function errorText(name: string): Promise<string> {
  await byId('error').waitFor({ state: 'visible', timeout: 20_000 });
  const text = (await byId('error').textContent()) ?? '';
  console.log(`# ${name}: ${text.replace(/dismiss$/, '')}`);
  await shot(page, name);
  await byId('error').getByRole('button', { name: 'dismiss' }).click();
  return text;
}

test('the whole flow in the browser', { skip, timeout: 300_000 }, async (t) => {
  let failed = false;
  /** One step of the flow; after a failure the later steps are skipped (they depend on it). */
  const step = (name: string, fn: () => Promise<void>) =>
    t.test(name, { skip: failed ? 'an earlier step failed' : false }, async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        await shot(page, `FAILED-${name.split(':')[0]}`).catch(() => undefined);
        throw e;
      }
    });
  await step('projects: a folder under /proc is refused with a message (it never answered before)', async () => {
    await page.goto(served!.url);
    await byId('create-dir').waitFor();
    await shot(page, 'projects-empty');
    await byId('create-dir').fill('/proc/scion-e2e');
    await byId('create-name').fill('proc');
    await byId('create-project').click();
    assert.match(await errorText('error-proc'), /\/proc is a virtual folder of the operating system/);
    assert.equal(await byId('create-project').isEnabled(), true);
  });

  await step('projects: create a project', async () => {
    await byId('create-dir').fill(project());
    await byId('create-name').fill('e2e study');
    await byId('create-project').click();
    await byId('import-path').waitFor();
    await expectNoError();
    assert.ok(existsSync(project()), 'the project folder exists');
  });

  await step('models: a folder that is not a model is refused, nothing changes', async () => {
    const before = snapshotTree(project());
    await byId('import-path').fill(join(home, 'not-a-model'));
    await byId('import-model').click();
    const msg = await errorText('error-not-a-model');
    assert.match(msg, /not-a-model|config\.json|model/i);
    assert.doesNotMatch(msg, /undefined|\[object|at .*\.ts:\d+/);
    assert.deepEqual(snapshotTree(project()), before);
  });

  await step('models: a long string pasted into the path field is refused with a message, the server stays up', async () => {
    const before = snapshotTree(project());
    await byId('import-path').fill('/' + 'x'.repeat(5_000));
    await byId('import-model').click();
    assert.match(await errorText('error-long-path'), /path: is not a path: longer than 4096 characters/);
    await byId('import-path').fill('/' + 'x'.repeat(1_500_000));
    await byId('import-model').click();
    assert.match(await errorText('error-huge-path'), /the request is [\d.]+ MiB, over the 1\.0 MiB limit of scion serve/);
    assert.equal(served!.proc.exitCode, null, 'scion serve is still running');
    assert.deepEqual(snapshotTree(project()), before);
  });

  await step('models: import the fixture and see its details', async () => {
    await byId('import-path').fill(FIXTURE);
    await byId('import-name').fill('shakespeare');
    await byId('import-model').click();
    await byId('model-shakespeare').waitFor({ timeout: 30_000 });
    await byId('model-shakespeare').click();
    await byId('model-details').waitFor();
    const details = (await byId('model-details').textContent()) ?? '';
    assert.match(details, /gpt2/);
    assert.match(details, /Layers\s*2/);
    await expectNoError();
    await shot(page, 'models');
  });

  await step('datasets: a file that is not text is refused, two text datasets are added', async () => {
    await byId('nav-datasets').click();
    const before = snapshotTree(project());
    await byId('dataset-path').fill(join(home, 'weights.txt'));
    await byId('dataset-add').click();
    const msg = await errorText('error-not-text');
    assert.match(msg, /weights\.txt|text|UTF-8/i);
    assert.deepEqual(snapshotTree(project()), before);
    for (const name of ['shakespeare', 'wikitext']) {
      await byId('dataset-path').fill(join(home, `${name}.txt`));
      await byId('dataset-name').fill(name);
      await byId('dataset-add').click();
      await byId(`dataset-${name}`).waitFor({ timeout: 30_000 });
    }
    await expectNoError();
    await shot(page, 'datasets');
  });

  await step('grow: live preview, an impossible shape flagged as you type, then HyperCloning x2', async () => {
    await byId('nav-grow').click();
    await byId('grow-method').selectOption('hypercloning');
    await byId('method-info').filter({ hasText: 'HyperCloning' }).waitFor();
    assert.match((await byId('method-info').textContent()) ?? '', /\bexact\b/);
    await byId('grow-preview').filter({ hasText: 'parameters' }).waitFor();
    const okText = (await byId('grow-preview').textContent()) ?? '';
    assert.match(okText, /FLOPs\/token/);
    const before = snapshotTree(project());
    await byId('grow-hidden').fill('100');
    await byId('grow-preview').filter({ hasText: 'Impossible' }).waitFor();
    assert.ok(await byId('grow-start').isDisabled(), 'grow is disabled for an impossible shape');
    const why = (await byId('grow-preview').textContent()) ?? '';
    console.log(`# impossible shape: ${why}`);
    assert.match(why, /100/, 'the message names the bad size');
    await shot(page, 'grow-impossible');
    assert.deepEqual(snapshotTree(project()), before);
    await byId('grow-hidden').fill('128');
    await byId('grow-preview').filter({ hasText: 'parameters' }).waitFor();
    // the growth check's memory line, before clicking: both models and one window against the backend
    await byId('grow-memory').filter({ hasText: 'The growth check holds the source and the grown model' }).waitFor();
    assert.equal(await byId('grow-memory').getAttribute('data-fits'), 'yes');
    await byId('grow-name').fill('shakespeare-x2');
    assert.equal(await byId('grow-layers').inputValue(), '2');
    await byId('grow-start').click();
    await byId('grow-verdict').waitFor({ timeout: 60_000 });
    assert.equal(await byId('grow-verdict').textContent(), 'exact');
    await expectNoError();
    await shot(page, 'grow-result');
  });

  await step('evaluations: both models on both datasets, differences vs the source, CSV', async () => {
    await byId('nav-evaluations').click();
    for (const id of ['eval-model-shakespeare', 'eval-model-shakespeare-x2', 'eval-dataset-shakespeare', 'eval-dataset-wikitext']) await byId(id).check();
    await byId('eval-windows').fill('2');
    await byId('eval-memory').filter({ hasText: 'Evaluation at batch' }).waitFor();
    assert.equal(await byId('eval-memory').getAttribute('data-fits'), 'yes');
    await byId('eval-start').click();
    await byId('eval-cell-shakespeare-x2-wikitext').waitFor({ timeout: 60_000 });
    const filled = page.locator('[data-testid^=eval-cell-]').filter({ hasText: '·' });
    await waitUntil('4 filled evaluation cells', async () => (await filled.count()) === 4, 60_000);
    const grownCell = (await byId('eval-cell-shakespeare-x2-shakespeare').textContent()) ?? '';
    assert.match(grownCell, /= parent/, 'HyperCloning is exact: same loss as the source');
    await expectNoError();
    await shot(page, 'evaluations');
    const [download] = await Promise.all([page.waitForEvent('download'), byId('eval-csv').click()]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split(/\r?\n/);
    assert.equal(csv.length, 5);
    assert.match(csv[0]!, /^model,kind,parent,dataset,loss,loss_std_err,perplexity,accuracy/);
  });

  await step('training: the curve updates live, pause, resume to the end', async () => {
    await byId('nav-training').click();
    await byId('train-model').selectOption({ label: 'shakespeare-x2 (grown)' });
    await byId('train-name').fill('x2-run');
    await byId('train-steps').fill('80');
    // the memory line as the form is filled in, before clicking: a batch far too big is flagged with what fits
    await byId('train-batch').fill('200000');
    await byId('train-ctx').fill('32');
    await byId('train-memory').filter({ hasText: 'Does not fit' }).waitFor();
    const refusal = (await byId('train-memory').textContent()) ?? '';
    assert.equal(await byId('train-memory').getAttribute('data-fits'), 'no');
    assert.match(refusal, /needs about [\d.]+ (GB|TB)/);
    assert.match(refusal, /the largest that fits is “Batch” (\d+) at “Context” 32/, refusal);
    await shot(page, 'train-memory-refused');
    const fitsAt = Number(/the largest that fits is “Batch” (\d+)/.exec(refusal)![1]);
    await byId('train-batch').fill(String(fitsAt));
    await byId('train-memory').filter({ hasText: 'Memory: Training at batch' }).waitFor();
    assert.equal(await byId('train-memory').getAttribute('data-fits'), 'yes', 'the batch the refusal named fits');
    await byId('train-batch').fill('2');
    await byId('train-memory').filter({ hasText: 'Memory: Training at batch 2, ctx 32 needs about' }).waitFor();
    await byId('train-ckpt').fill('5');
    await byId('train-start').click();
    const chart = byId('loss-chart');
    const points = async () => Number(await chart.getAttribute('data-points'));
    await waitUntil('the first points of the curve', async () => (await points()) >= 3, 60_000);
    const first = await points();
    await waitUntil('more points on the curve', async () => (await points()) > first, 30_000);
    assert.ok((await points()) > first, 'the curve grew while we watched');
    await shot(page, 'training-live');
    const row = byId('session-x2-run');
    await row.getByTestId('session-pause').click();
    await row.getByTestId('session-resume').waitFor({ timeout: 60_000 });
    const paused = Number(await row.getByTestId('session-step').textContent());
    assert.ok(paused < 80, `paused before the end (step ${paused})`);
    await shot(page, 'training-paused');
    await row.getByTestId('session-resume').click();
    await row
      .getByTestId('session-status')
      .filter({ hasText: /^done$/ })
      .waitFor({ timeout: 90_000 });
    assert.equal(Number(await row.getByTestId('session-step').textContent()), 80);
    await expectNoError();
    await shot(page, 'training-done');
    await byId('chart-axis').selectOption('tokens');
    assert.equal(await byId('chart-axis').inputValue(), 'tokens');
    assert.ok((await points()) >= 80, 'every step is on the curve');
    await shot(page, 'training-by-tokens');
  });

  await step('experiments: grow vs scratch, and its report', async () => {
    await runSmallExperiment(page, 'shakespeare', 'shakespeare');
    await expectNoError();
    const runs = (await byId('experiment-runs').textContent()) ?? '';
    assert.match(runs, /hypercloning/);
    assert.match(runs, /scratch/);
    await expectNoError();
    await shot(page, 'experiments');
  });

  await step('projects: after a reload the project is still open, and listed as recent', async () => {
    await page.reload();
    await byId('import-path').waitFor();
    await byId('nav-projects').click();
    await byId('current-project').filter({ hasText: 'e2e study' }).waitFor();
    await page.getByRole('button', { name: project() }).waitFor();
    await byId('open-dir').fill(project());
    await byId('open-project').click();
    await byId('model-shakespeare-x2').waitFor();
    await expectNoError();
    await byId('nav-projects').click();
    await shot(page, 'projects');
  });

  await step('export the grown model to a Hugging Face folder', async () => {
    await byId('nav-models').click();
    await byId('model-shakespeare-x2').click();
    await byId('export-dir').fill(join(home, 'exported'));
    await byId('export-model').click();
    await byId('export-done').waitFor({ timeout: 30_000 });
    assert.ok(existsSync(join(home, 'exported', 'config.json')));
    assert.ok(existsSync(join(home, 'exported', 'model.safetensors')));
    await shot(page, 'export');
  });

  await step('a CLI grow recorded into the open project appears in the app without a reload', async () => {
    const r = await scionChild(quickGrowArgs(FIXTURE, join(home, 'cli-grown'), project()));
    assert.equal(r.code, 0, r.stderr);
    await byId('model-cli-grown').waitFor({ timeout: 20_000 });
    await byId('model-cli-grown').click();
    await expectNoError();
    await shot(page, 'cli-grown-live');
  });
});
