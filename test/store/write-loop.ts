/**
 * Child process for crash-write.test.ts: keeps writing to a project (model copies, datasets,
 * entry rewrites) and prints a line after each write, until it is killed.
 */
import { Project } from '../../electron/store/project.ts';
import { importModel } from '../../electron/store/models.ts';
import { addDataset } from '../../electron/store/datasets.ts';

const [dir, modelDir, textFile] = process.argv.slice(2) as [string, string, string];
const p = await Project.open(dir);
for (let i = 0; ; i++) {
  const m = await importModel(p, { path: modelDir, name: `copy ${i}`, copy: true });
  process.stdout.write(`model ${m.id}\n`);
  const d = await addDataset(p, { path: textFile, name: `data ${i}`, copy: true });
  process.stdout.write(`dataset ${d.id}\n`);
  for (let k = 0; k < 5; k++) {
    await p.save('models', { ...m, name: `copy ${i} rewrite ${k}` });
    process.stdout.write(`rewrite ${k}\n`);
  }
}
