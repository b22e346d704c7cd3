/**
 * `scion handoff`: a self-contained folder that continues a Scion training session on PyTorch
 * (one GPU, a node, several nodes), for models that outgrow one machine:
 *   model/               the model as a Hugging Face folder (+ growth.json, growth-mask.safetensors)
 *   data/train.bin       the training tokens, nanoGPT's flat little-endian uint16 (uint32 past 65,536 ids)
 *   data/val.bin         the validation tokens, and data/val-windows.bin the windows Scion evaluates on
 *   moments.safetensors  carried AdamW moments (`--moments`), when given
 *   train.py, scion_torch_models.py, launch.sh, requirements.txt, README.md  (resources/handoff)
 *   scion-handoff.json   the manifest: the resolved training options, the model's shape, every file's SHA-256
 * train.py reproduces `scion train`'s data order (either sampler), optimizer, schedule, clipping, accumulation,
 * evaluation and mask ramp, and writes a run folder in Scion's format (`scion import-run`).
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { atomicWriteDir } from '../io/atomic.ts';
import { sha256File } from '../io/file-hash.ts';
import { checkOutputDir, type OutputInput, writeOutputMarker } from '../io/out-dir.ts';
import { SafetensorsFile } from '../io/safetensors.ts';
import { contextLength, familyName, modelShape } from '../models/config.ts';
import { parameterCount } from '../models/family.ts';
import { MASK_FILE, isModelFolderFile } from '../models/folder-files.ts';
import { readModelConfig } from '../models/model.ts';
import { resourceDir } from '../resources.ts';
import { loadTokenizer } from '../tokenizer/tokenizer.ts';
import { checkSequentialData } from '../train/batches.ts';
import { loadTokens, parseDataSpec, spreadWindows } from '../train/data.ts';
import { effectiveWarmup, resolveTrainOptions, type ResolvedTrainOptions, type TrainOptions } from '../train/options.ts';

export const MANIFEST_FILE = 'scion-handoff.json';
const TEMPLATE_FILES = ['train.py', 'scion_torch_models.py', 'launch.sh', 'requirements.txt'] as const;
const EXECUTABLE = new Set(['train.py', 'launch.sh']);
export interface TokenFile {
  file: string;
  dtype: 'uint16' | 'uint32';
  tokens: number;
}

export interface HandoffManifest {
  format: 'scion-handoff';
  version: 1;
  created: string;
  /** The Scion session's options, field for field (absolute paths on the machine that made the folder). */
  options: ResolvedTrainOptions;
  model: {
    dir: 'model';
    /** Scion's run.json `model` record: family, shape, parameters. */
    shape: Record<string, string | number>;
    masked: boolean;
    moments?: string;
    moments_t?: number;
  };
  data: { train: TokenFile; val?: TokenFile; val_windows?: TokenFile & { ctx: number; windows: number } };
  /** SHA-256 of every file, by path relative to the folder. */
  files: Record<string, string>;
}

export interface HandoffResult {
  dir: string;
  manifest: HandoffManifest;
}

/** Where train.py and its companions are: the packaged app's resources, else the checkout's (resources.ts). */
export function templatesDir(): string {
  return resourceDir('handoff', 'train.py');
}

/** Writes token ids as a flat little-endian file (uint16 when every id fits). */
async function writeTokens(file: string, ids: Uint32Array, vocab: number): Promise<TokenFile> {
  const wide = vocab > 65536;
  const arr = wide ? Uint32Array.from(ids) : Uint16Array.from(ids);
  const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new ScionError('handoff: big-endian machines are not supported', 'E_HANDOFF');
  await fs.writeFile(file, bytes);
  return { file: '', dtype: wide ? 'uint32' : 'uint16', tokens: ids.length };
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => values[k] ?? '');
}

/** The README of the folder, with the session's figures. */
function readme(template: string, o: ResolvedTrainOptions, m: HandoffManifest): string {
  const v = m.data.val_windows;
  return fill(template, {
    name: path.basename(o.model),
    created: m.created,
    family: String(m.model.shape['family']),
    parameters: Number(m.model.shape['parameters']).toLocaleString('en-US'),
    grown: m.model.masked ? ', grown with masked growth: its new parts ramp in over ' + String(o.maskRamp) + ' steps' : '',
    trainTokens: m.data.train.tokens.toLocaleString('en-US'),
    dtype: m.data.train.dtype,
    validation: v
      ? `\`data/val-windows.bin\`: ${v.windows} windows of ${v.ctx} tokens (the ones Scion evaluates on), every ${o.evalEvery} steps`
      : 'none (no validation set was given)',
    steps: String(o.steps),
    batch: String(o.batch),
    ctx: String(o.ctx),
    accum: o.gradAccum > 1 ? `, ${o.gradAccum} accumulated` : '',
    lr: String(o.lr),
    schedule: o.schedule,
    warmup: String(effectiveWarmup(o)) + (o.hold ? `, then ${o.hold} steps at the peak` : ''),
    seed: String(o.seed),
  });
}

/** Writes the hand-off folder for a training session (`opts` as for `scion train`). */
export async function writeHandoff(opts: TrainOptions, log: (line: string) => void = () => undefined): Promise<HandoffResult> {
  const { config } = await readModelConfig(opts.model);
  if (config.family !== 'gpt2' && config.family !== 'llama')
    throw new ScionError(
      `${opts.model}: the handoff's plain-PyTorch trainer has GPT-2 and Llama models only, not ${familyName(config.family)}: train it with scion train (or with transformers)`,
      'E_HANDOFF',
      opts.model,
    );
  const o = resolveTrainOptions(opts, config);
  if (o.init !== 'pretrained') throw new ScionError('handoff: hands off a trained or grown model; --init scratch is not supported', 'E_USAGE');
  const inputs: OutputInput[] = [
    { what: 'the model', path: o.model },
    { what: '--data', path: parseDataSpec(o.data).file },
    ...(o.val ? [{ what: '--val', path: parseDataSpec(o.val).file }] : []),
    ...(o.moments ? [{ what: '--moments', path: o.moments }] : []),
  ];
  await checkOutputDir({ out: o.out, kind: 'handoff', command: 'handoff', inputs, force: opts.force === true });
  const masked = existsSync(path.join(o.model, MASK_FILE));
  if (o.maskRamp !== undefined && !masked)
    throw new ScionError(`${o.model}: --mask-ramp needs ${MASK_FILE} (a model grown with --method msg)`, 'E_USAGE', o.model);
  const templates = templatesDir();
  for (const f of [...TEMPLATE_FILES, 'README.md'])
    if (!existsSync(path.join(templates, f))) throw new ScionError(`handoff: ${path.join(templates, f)} is missing from this installation`, 'E_HANDOFF');

  // read and tokenize everything before writing anything
  const tok = await loadTokenizer(o.model);
  const train = await loadTokens(o.data, tok, config.vocabSize);
  if (train.length < o.ctx + 1)
    throw new ScionError(`${o.data}: ${train.length} tokens, fewer than one training window of ctx + 1 = ${o.ctx + 1}`, 'E_DATASET', o.data);
  checkSequentialData(o, train.length);
  const evalCtx = Math.min(o.ctx + 1, contextLength(config));
  const val = o.val ? await loadTokens(o.val, tok, config.vocabSize) : undefined;
  const windows = val ? spreadWindows(val, evalCtx, o.evalWindows) : undefined;
  if (val && (!windows || windows.length === 0))
    throw new ScionError(`${o.val}: ${val.length} tokens, fewer than one evaluation window of ${evalCtx}`, 'E_DATASET', o.val);
  let momentsT: number | undefined;
  if (o.moments) {
    const f = await SafetensorsFile.open(o.moments);
    momentsT = Number(f.metadata['t']);
    await f.close();
    if (!Number.isInteger(momentsT) || momentsT < 0)
      throw new ScionError(`${o.moments}: no step count 't' in its metadata (not a moments file)`, 'E_CHECKPOINT', o.moments);
  }
  const modelFiles = (await fs.readdir(o.model)).filter(isModelFolderFile).sort();

  const manifest: HandoffManifest = {
    format: 'scion-handoff',
    version: 1,
    created: new Date().toISOString(),
    options: o,
    model: {
      dir: 'model',
      shape: { ...modelShape(config), parameters: parameterCount(config) },
      masked,
      ...(o.moments ? { moments: 'moments.safetensors', moments_t: momentsT! } : {}),
    },
    data: { train: { file: 'data/train.bin', dtype: 'uint16', tokens: 0 } },
    files: {},
  };
  await atomicWriteDir(o.out, async (tmp) => {
    await fs.mkdir(path.join(tmp, 'model'));
    await fs.mkdir(path.join(tmp, 'data'));
    for (const f of modelFiles) await fs.copyFile(path.join(o.model, f), path.join(tmp, 'model', f));
    log(`model: ${modelFiles.length} files copied`);
    manifest.data.train = { ...(await writeTokens(path.join(tmp, 'data', 'train.bin'), train, config.vocabSize)), file: 'data/train.bin' };
    if (val && windows) {
      manifest.data.val = { ...(await writeTokens(path.join(tmp, 'data', 'val.bin'), val, config.vocabSize)), file: 'data/val.bin' };
      const w = await writeTokens(path.join(tmp, 'data', 'val-windows.bin'), windows, config.vocabSize);
      manifest.data.val_windows = { ...w, file: 'data/val-windows.bin', ctx: evalCtx, windows: windows.length / evalCtx };
    }
    log(`data: ${train.length} training tokens${val ? `, ${val.length} validation tokens` : ''}`);
    if (o.moments) await fs.copyFile(o.moments, path.join(tmp, 'moments.safetensors'));
    for (const f of TEMPLATE_FILES) {
      await fs.copyFile(path.join(templates, f), path.join(tmp, f));
      if (EXECUTABLE.has(f)) await fs.chmod(path.join(tmp, f), 0o755);
    }
    await fs.writeFile(path.join(tmp, 'README.md'), readme(await fs.readFile(path.join(templates, 'README.md'), 'utf8'), o, manifest));
    for (const rel of [
      ...modelFiles.map((f) => `model/${f}`),
      ...Object.values(manifest.data).map((d) => d.file),
      ...TEMPLATE_FILES,
      'README.md',
      ...(o.moments ? ['moments.safetensors'] : []),
    ])
      manifest.files[rel] = await sha256File(path.join(tmp, rel));
    await fs.writeFile(path.join(tmp, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
    await writeOutputMarker(tmp, 'handoff', 'handoff');
  });
  return { dir: o.out, manifest };
}
