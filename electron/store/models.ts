/**
 * Model entries: checking that a folder is a model we can load (config and every tensor's
 * name and shape, without reading the weights), importing it (copied in, or referenced where
 * it is and never touched), and describing a model folder as an entry.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ModelEntry, ModelShape } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { makeDirs } from '../engine/io/make-dirs.ts';
import { openWeightFiles } from '../engine/io/weight-files.ts';
import { type ModelConfig, modelShape } from '../engine/models/config.ts';
import { canonicalName, ignoredTensor, parameterCount, tensorSpecs } from '../engine/models/family.ts';
import { copySideFiles, readModelConfig } from '../engine/models/model.ts';
import { checkSideFiles } from '../engine/models/side-files.ts';
import { isInside } from './layout.ts';
import type { Project } from './project.ts';

/** Reads config.json, checks the tokenizer files and the checkpoint's tensor names and shapes; reads no weights. */
export async function inspectModelFolder(dir: string): Promise<{ config: ModelConfig; shape: ModelShape; params: number }> {
  const { config } = await readModelConfig(dir);
  await checkSideFiles(dir);
  if (!existsSync(path.join(dir, 'model.safetensors')) && !existsSync(path.join(dir, 'model.safetensors.index.json'))) {
    throw new ScionError(`${dir}: not a model folder: it has config.json but no model.safetensors (or model.safetensors.index.json)`, 'E_NOT_A_MODEL', dir);
  }
  const ckpt = await openWeightFiles(dir);
  try {
    const have = new Map<string, number[]>();
    for (const n of ckpt.names()) if (!ignoredTensor(config, n)) have.set(canonicalName(config, n), ckpt.info(n).shape);
    for (const spec of tensorSpecs(config)) {
      const shape = have.get(spec.name);
      if (!shape) throw new ScionError(`${dir}: checkpoint has no tensor '${spec.name}' (config.json says the model needs it)`, 'E_CHECKPOINT', dir);
      if (shape.join(',') !== spec.shape.join(','))
        throw new ScionError(
          `${dir}: tensor '${spec.name}' has shape [${shape.join(', ')}], config.json implies [${spec.shape.join(', ')}]`,
          'E_CHECKPOINT',
          dir,
        );
    }
  } finally {
    await ckpt.close();
  }
  return { config, shape: modelShape(config), params: parameterCount(config) };
}

/** Copies the files a model folder needs (config, weights, tokenizer) into `to`. */
export async function copyModelFolder(from: string, to: string): Promise<void> {
  await makeDirs(to);
  for (const name of await fs.readdir(from)) {
    if (name === 'config.json' || name.endsWith('.safetensors') || name === 'model.safetensors.index.json') {
      await fs.copyFile(path.join(from, name), path.join(to, name));
    }
  }
  await copySideFiles(from, to);
}

export interface ImportModelRequest {
  path: string;
  name: string;
  copy: boolean;
}

/** Adds a source model: copied into models/<id>/model, or referenced where it is. */
export async function importModel(project: Project, req: ImportModelRequest): Promise<ModelEntry> {
  const src = path.resolve(req.path);
  if (isInside(project.dir, src)) throw new ScionError(`${src}: is inside the project folder already; import models from outside it`, 'E_INVALID', src);
  const info = await inspectModelFolder(src);
  const id = project.newId(req.name);
  return project.create('models', id, async (tmp) => {
    const modelDir = path.join(tmp, 'model');
    if (req.copy) await copyModelFolder(src, modelDir);
    return {
      id,
      kind: 'source',
      name: req.name,
      path: req.copy ? modelDir : src,
      referenced: !req.copy,
      shape: info.shape,
      params: info.params,
      createdAt: new Date().toISOString(),
    };
  });
}
