/**
 * End-to-end harness: starts `scion serve` (the real engine, jobs in forked workers) in a
 * temporary folder, opens Debian's Chromium on its URL with playwright-core, and saves
 * screenshots under test-artifacts/e2e/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const ARTIFACTS = join(REPO, 'test-artifacts', 'e2e');
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface Served {
  url: string;
  port: number;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Runs `scion serve --port 0 --json` and resolves with the URL it prints. */
export async function startServe(home: string, extra: string[] = []): Promise<Served> {
  const proc = spawn(process.execPath, [join(REPO, 'bin', 'scion.js'), 'serve', '--port', '0', '--json', ...extra], {
    cwd: REPO,
    env: { ...process.env, SCION_BACKEND: process.env['SCION_BACKEND'] ?? 'wasm', XDG_CONFIG_HOME: join(home, 'config') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const first = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`scion serve did not start in 90 s:\n${err}`)), 90_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`scion serve exited with ${code}:\n${err}`));
    });
  });
  const { url, port } = JSON.parse(first) as { url: string; port: number };
  return {
    url,
    port,
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export function tempHome(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

let shotIndex = 0;
/** Saves a full-page screenshot as test-artifacts/e2e/NN-name.png and returns its path. */
export async function shot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${String(++shotIndex).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * The project's machine-local lock and change-stamp files, and the temp files their atomic rewrites pass through
 * (`..scion-lock.tmp-<pid>-<hex>`): refreshed every few seconds while a project is open, never the user's data.
 */
const LIVE_FILES = /^\.?\.scion-(lock|write-lock|changes)(\.tmp-\d+-[0-9a-f]+)?$/;

/** Every file under `dir` (but the live lock and stamp files) with its size and mtime: compare before and after to prove nothing changed. */
export function snapshotTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (d === dir && LIVE_FILES.test(name)) continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

/** Polls `cond` every 100 ms until it is true, or fails with `what` after `timeoutMs`. */
export async function waitUntil(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface OpenApp {
  served: Served;
  browser: Browser;
  page: Page;
  /** Closes the browser, stops the server (printing its stderr with SCION_E2E_LOG set), removes `home`. */
  close(): Promise<void>;
}

/** `scion serve` in `home`, and a Chromium page (downloads allowed) on a 1320x900 viewport. */
export async function openApp(home: string): Promise<OpenApp> {
  const served = await startServe(home);
  const browser = await launchBrowser();
  const page = await browser.newPage({ viewport: { width: 1320, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (e) => console.log(`# page error: ${e.message}`));
  return {
    served,
    browser,
    page,
    async close() {
      await browser.close();
      await served.stop();
      if (process.env['SCION_E2E_LOG']) console.log(served.stderr());
      cleanup(home);
    },
  };
}

/** Fails when the app shows an error banner. */
export async function expectNoError(page: Page): Promise<void> {
  const err = page.getByTestId('error');
  if (await err.isVisible()) throw new Error(`unexpected error banner: ${await err.textContent()}`);
}

/**
 * Steps of one flow as subtests of `t`: after a failure (screenshotted) the later steps are
 * skipped, since they depend on it.
 */
export function flowSteps(
  t: { test: (name: string, opts: { skip: string | false }, fn: () => Promise<void>) => Promise<void> },
  page: () => Page,
  prefix = '',
) {
  let failed = false;
  return (name: string, fn: () => Promise<void>) =>
    t.test(name, { skip: failed ? 'an earlier step failed' : false }, async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        await shot(page(), `FAILED-${prefix}${name.split(':')[0]}`).catch(() => undefined);
        throw e;
      }
    });
}

/**
 * A test file's app: before its tests, a temporary home (filled by `prepare`), `scion serve`
 * and a Chromium page; after them, all closed and removed. `skip` says why when Chromium is missing.
 */
export function appFixture(prefix: string, prepare: (home: string) => void = () => undefined) {
  const skip = chromiumMissing();
  if (skip) console.log(`# e2e skipped: ${skip}`);
  let home = '';
  let app: OpenApp | undefined;
  before(async () => {
    if (skip) return;
    home = tempHome(prefix);
    prepare(home);
    app = await openApp(home);
  });
  after(async () => {
    await app?.close();
  });
  return { skip, home: () => home, app: () => app!, page: () => app!.page };
}

/** Runs a 10-step HyperCloning-vs-scratch experiment from the Experiments screen and waits for its report (or an error). */
export async function runSmallExperiment(page: Page, source: string, val: string): Promise<void> {
  const byId = (id: string) => page.getByTestId(id);
  await byId('nav-experiments').click();
  await byId('exp-source').selectOption({ label: source });
  await byId('exp-val').selectOption({ label: val });
  await byId('exp-methods').fill('hypercloning,scratch');
  await byId('exp-steps').fill('10');
  await byId('exp-batch').fill('2');
  await byId('exp-ctx').fill('32');
  await byId('exp-eval-every').fill('5');
  await byId('exp-start').click();
  await byId('experiment-report').or(byId('error')).waitFor({ timeout: 180_000 });
}

/** Creates a project in `dir` from the Projects screen, imports `model` as `modelName` and adds each text file of `datasets` (name -> path). */
export async function setupProject(
  page: Page,
  p: { dir: string; name: string; model: string; modelName: string; datasets: Record<string, string> },
): Promise<void> {
  const byId = (id: string) => page.getByTestId(id);
  await byId('create-dir').fill(p.dir);
  await byId('create-name').fill(p.name);
  await byId('create-project').click();
  await byId('import-path').fill(p.model);
  await byId('import-name').fill(p.modelName);
  await byId('import-model').click();
  await byId(`model-${p.modelName}`).waitFor({ timeout: 30_000 });
  await byId('nav-datasets').click();
  for (const [name, file] of Object.entries(p.datasets)) {
    await byId('dataset-path').fill(file);
    await byId('dataset-name').fill(name);
    await byId('dataset-add').click();
    await byId(`dataset-${name}`).waitFor({ timeout: 30_000 });
  }
}

/** Starts a training session from the Training screen on the datasets 'train' and (unless `val` is false) 'val'. */
export async function startTraining(
  page: Page,
  model: string,
  name: string,
  s: { steps: number; batch?: number; checkpointEvery?: number; lr?: number; val?: boolean },
): Promise<void> {
  const byId = (id: string) => page.getByTestId(id);
  await byId('nav-training').click();
  await byId('train-model').selectOption({ label: model });
  await byId('train-dataset').selectOption({ label: 'train' });
  await byId('train-val').selectOption({ label: s.val === false ? '(none)' : 'val' });
  await byId('train-name').fill(name);
  await byId('train-steps').fill(String(s.steps));
  await byId('train-batch').fill(String(s.batch ?? 2));
  await byId('train-ctx').fill('32');
  await byId('train-eval-every').fill('5');
  await byId('train-ckpt').fill(String(s.checkpointEvery ?? 10));
  if (s.lr !== undefined) await byId('train-lr').fill(String(s.lr));
  await byId('train-start').click();
}
