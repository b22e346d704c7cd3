/**
 * `scion experiment --noise-db X` grows the hypercloning runs with symmetry-breaking noise
 * (the function is kept, so they still start at the source's loss), and a method grown
 * differently than last time retrains instead of reusing its old run folder.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { experimentCommand } from '../../electron/cli/commands/experiment.ts';
import { runCommand } from '../helpers/run-command.ts';
import type { ExperimentResults } from '../../electron/engine/experiment/results.ts';
import { tempDir } from '../helpers/tmp.ts';
import { makeText, makeTinyModel } from '../train/tiny.ts';

const runCli = (argv: string[]) => runCommand((a, io) => experimentCommand.run(a, io), argv);

describe('scion experiment --noise-db', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  test('noisy HyperCloning keeps the function, and a changed growth is not reused', async () => {
    const source = await makeTinyModel(tmp.dir);
    const data = makeText(tmp.dir, 20000);
    const out = path.join(tmp.dir, 'exp');
    const argv = [
      '--source',
      source,
      '--data',
      `${data}#0-0.9`,
      '--val',
      `${data}#0.9-1`,
      '--target',
      'hidden=64',
      '--methods',
      'hypercloning,scratch',
      '--steps',
      '2',
      '--batch',
      '2',
      '--ctx',
      '16',
      '--eval-every',
      '1',
      '--eval-windows',
      '4',
      '--out',
      out,
    ];
    const plain = await runCli(argv);
    assert.equal(plain.code, 0, plain.stderr);
    const growth = () => JSON.parse(readFileSync(path.join(out, 'models', 'hypercloning', 'growth.json'), 'utf8')) as { options: { noiseDb?: number } };
    assert.equal(growth().options.noiseDb, undefined);
    const plainWte = readFileSync(path.join(out, 'runs', 'hypercloning', 'final', 'model.safetensors'));

    const noisy = await runCli([...argv, '--noise-db', '20']);
    assert.equal(noisy.code, 0, noisy.stderr);
    assert.equal(growth().options.noiseDb, 20);
    assert.match(noisy.stderr, /run scratch: already complete/);
    assert.doesNotMatch(noisy.stderr, /run hypercloning: already complete/);
    assert.match(noisy.stderr, /run hypercloning: training 2 steps/);
    const r = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as ExperimentResults;
    assert.equal(r.settings['hypercloning_noise_db'], 20);
    const hc = r.runs.find((x) => x.label === 'hypercloning')!;
    assert.ok(Math.abs(hc.initial_val_loss - r.source.val_loss) < 1e-4, `${hc.initial_val_loss} vs source ${r.source.val_loss}`);
    assert.notDeepEqual(readFileSync(path.join(out, 'runs', 'hypercloning', 'final', 'model.safetensors')), plainWte);
  });
});
