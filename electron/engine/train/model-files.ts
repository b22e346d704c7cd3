/**
 * A run's own copy of its model's side files: `model-files/` in the run folder holds the
 * model's tokenizer files and generation config (and its growth.json, and with --mask-ramp
 * its growth-mask.safetensors), copied when the run starts. Every checkpoint and final/ take
 * their tokenizer from here, and a resume reads the tokenizer and the mask from here: never
 * from a checkpoint (only the newest two are kept) nor from the model folder the run started
 * from (the user may move it). run.json records what was copied and which tokenizer the data
 * is tokenized with; a resume that finds a recorded file gone, or another tokenizer, is
 * refused instead of reading the data as bytes.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ScionError } from '../errors.ts';
import { atomicWriteDir } from '../io/atomic.ts';
import { GROWTH_FILE, MASK_FILE } from '../models/folder-files.ts';
import { copySideFiles } from '../models/side-files.ts';
import { loadTokenizer, recordedTokenizer } from '../tokenizer/tokenizer.ts';

export const MODEL_FILES_DIR = 'model-files';

export interface ModelFilesRecord {
  /** The names copied into model-files/. */
  files: string[];
  /** The tokenizer the run's data is tokenized with. */
  tokenizer: { kind: 'tokenizer.json' | 'bytes'; fingerprint: string };
  /** The folder they were copied from. */
  from: string;
}

export function modelFilesDir(runDir: string): string {
  return path.join(runDir, MODEL_FILES_DIR);
}

/** Copies the side files of `modelDir` (checked first) into the run folder; `withMask` adds the growth mask. */
export async function keepModelFiles(runDir: string, modelDir: string, withMask: boolean): Promise<ModelFilesRecord> {
  const dir = modelFilesDir(runDir);
  const files: string[] = [];
  await atomicWriteDir(dir, async (tmp) => {
    files.push(...(await copySideFiles(modelDir, tmp)));
    for (const extra of [GROWTH_FILE, ...(withMask ? [MASK_FILE] : [])]) {
      if (!existsSync(path.join(modelDir, extra))) continue;
      await fs.copyFile(path.join(modelDir, extra), path.join(tmp, extra));
      files.push(extra);
    }
  });
  const tok = await loadTokenizer(dir);
  return { files, tokenizer: { kind: tok.kind, fingerprint: tok.fingerprint }, from: path.resolve(modelDir) };
}

/** The run's model-files folder, checked against run.json's record (ScionError when a file is gone or the tokenizer changed). */
export async function checkedModelFiles(runDir: string, record: ModelFilesRecord): Promise<string> {
  const dir = modelFilesDir(runDir);
  const why = `the run tokenizes its data with ${record.tokenizer.kind === 'bytes' ? 'bytes' : `the tokenizer of ${record.from}`} (run.json)`;
  for (const f of record.files) {
    const file = path.join(dir, f);
    if (!existsSync(file))
      throw new ScionError(
        `${file} is missing: ${why}; refusing to go on without it (copy ${f} back from ${record.from})`,
        f === MASK_FILE ? 'E_CHECKPOINT' : 'E_TOKENIZER_MISSING',
        file,
      );
  }
  const tok = await loadTokenizer(dir);
  if (tok.kind !== record.tokenizer.kind || tok.fingerprint !== record.tokenizer.fingerprint)
    throw new ScionError(
      `${dir}: its tokenizer (${tok.kind} ${tok.fingerprint}) is not the one the run started with (${record.tokenizer.kind} ${record.tokenizer.fingerprint}); ` +
        `${why}. Put the original files back.`,
      'E_TOKENIZER_CHANGED',
      dir,
    );
  return dir;
}

/**
 * A run started before runs kept model-files/: its tokenizer is the one of the model it started
 * from (run.json's options.model) or, when that folder is gone, the one its checkpoint carries.
 * Refused when neither can tell, rather than guessing bytes.
 */
export async function adoptModelFiles(runDir: string, modelDir: string, checkpointModel: string | undefined, maskRamp: boolean): Promise<ModelFilesRecord> {
  let from: string;
  if (existsSync(modelDir)) from = modelDir;
  else if (checkpointModel !== undefined && existsSync(path.join(checkpointModel, 'tokenizer.json'))) from = checkpointModel;
  else {
    const recorded = checkpointModel ? await recordedTokenizer(checkpointModel) : undefined;
    throw new ScionError(
      `${runDir}: cannot tell which tokenizer this run's data was tokenized with: the model it started from (${modelDir}) is gone` +
        `${recorded ? ` and its checkpoint lost its ${recorded}` : ' and its checkpoint has no tokenizer.json'}; put that model folder back to resume`,
      'E_TOKENIZER_MISSING',
      runDir,
    );
  }
  return keepModelFiles(runDir, from, maskRamp && from === modelDir);
}
