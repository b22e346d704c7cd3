/**
 * `--project DIR` on the CLI: `scion grow`, `scion eval` and `scion train` record their work
 * in a project (created on first use). The folders the CLI used are referenced, never
 * copied or moved; the same folder is the same entry every time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { main } from '../../electron/cli/main.ts';
import { Project } from '../../electron/store/project.ts';
import { fixtureDir } from '../helpers/fixtures.ts';
import { runCommand } from '../helpers/run-command.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeText } from '../service/util.ts';

async function scion(...argv: string[]): Promise<string> {
  const { code, stderr } = await runCommand(main, argv);
  assert.equal(code, 0, `scion ${argv.join(' ')} failed:\n${stderr}`);
  return stderr;
}

test('scion grow / eval / train --project record source, grown, evaluation, training and trained model', async (t) => {
  const { dir, cleanup } = tempDir();
  t.after(cleanup);
  const proj = path.join(dir, 'proj');
  const source = fixtureDir('gpt2-shakespeare-d64-l2');
  const grown = path.join(dir, 'grown');
  const text = writeText(dir, 'data.txt', 'tinyshakespeare.txt', 20_000);

  const log = await scion(
    'grow',
    source,
    '--out',
    grown,
    '--method',
    'hypercloning',
    '--width-mult',
    '2',
    '--check-windows',
    '1',
    '--check-ctx',
    '16',
    '--project',
    proj,
  );
  assert.match(log, /recorded in project .* as model /);
  await scion('eval', grown, '--data', text, '--max-windows', '2', '--project', proj);
  await scion('eval', source, '--data', text, '--max-windows', '2', '--project', proj);
  await scion('train', grown, '--data', text, '--steps', '2', '--batch', '2', '--ctx', '16', '--out', path.join(dir, 'run'), '--project', proj);

  const p = await Project.open(proj);
  assert.deepEqual(p.problems, []);
  assert.equal(p.file.name, 'proj');
  const models = [...p.models.values()];
  const src = models.find((m) => m.path === source)!;
  const g = models.find((m) => m.path === grown)!;
  assert.deepEqual([src.kind, src.referenced, g.kind, g.referenced], ['source', true, 'grown', true]);
  assert.equal(g.lineage?.parent, src.id);
  assert.equal(g.lineage?.method, 'hypercloning');
  assert.equal(g.lineage?.growth?.verdict, 'exact');
  assert.equal(g.lineage?.seed, 0);
  assert.equal(p.datasets.size, 1, 'the same file is one dataset entry');
  const evals = [...p.evaluations.values()];
  assert.deepEqual(new Set(evals.map((e) => e.modelId)), new Set([src.id, g.id]));
  assert.ok(Math.abs(evals[0]!.metrics.loss - evals[1]!.metrics.loss) < 1e-4, 'the exact growth scores what its source scores');
  const training = [...p.trainings.values()][0]!;
  assert.deepEqual([training.status, training.lastStep, training.modelId, training.runDir], ['done', 2, g.id, path.join(dir, 'run')]);
  const trained = p.models.get(training.resultModelId!)!;
  assert.deepEqual(
    [trained.kind, trained.path, trained.lineage?.parent, trained.lineage?.trainingId],
    ['trained', path.join(dir, 'run', 'final'), g.id, training.id],
  );
  // nothing of the CLI's was moved into the project
  assert.ok(existsSync(path.join(grown, 'model.safetensors')));
  assert.equal(models.length, 3);
});
