/**
 * Zod schemas of the entry documents of a project folder (read back from disk, possibly
 * hand-edited or damaged). Each schema is checked against its contract type with `satisfies`,
 * so the two cannot drift apart. The API payload schemas live with the service that checks
 * them (electron/service/api-schemas.ts).
 */
import { z } from 'zod';
import type { DatasetEntry, EvaluationEntry, GrowthCheck, JobInfo, ModelEntry, ModelShape, TrainingEntry, TrainSettings } from '../shared/contract.ts';
import { ScionError } from '../engine/errors.ts';
import { APPROX_LOSS_BOUND, gradeCheck } from '../engine/growth/verdict.ts';
import { FAMILY_IDS } from '../engine/models/shape.ts';

/** Entry ids: lower-case slug plus a random suffix; safe as one path component. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,79}$/;
/**
 * Display names: start with a letter or digit; letters (with their combining marks: Hindi,
 * Thai, decomposed accents), digits, space and . _ - + ( ) ' , & #; at most 80.
 */
export const NAME_PATTERN = /^[\p{L}\p{N}][\p{L}\p{M}\p{N} ._+()',&#-]{0,79}$/u;

export const idSchema = z.string().regex(ID_PATTERN, 'not a valid id (lower-case letters, digits and -)');
export const nameSchema = z
  .string()
  .regex(NAME_PATTERN, "not a valid name: use 1-80 letters, digits, spaces and . _ - + ( ) ' , & #, starting with a letter or digit");
const isoDate = z.string().min(1);
const finite = z.number().finite();
const posInt = z.number().int().positive();

export const shapeSchema = z.strictObject({
  family: z.enum(FAMILY_IDS),
  hidden: posInt,
  layers: posInt,
  heads: posInt,
  kvHeads: posInt,
  ffn: posInt,
  ctx: posInt,
  vocab: posInt,
}) satisfies z.ZodType<ModelShape>;

/**
 * A model's function check. One recorded before the verdict had a scale (no lossBound:
 * 'approximate' whatever the loss change, or 'not preserving') is graded on today's scale
 * from its own numbers, so an old project shows a +0.76 nats growth as 'changes the function'.
 */
export const growthCheckSchema = z
  .object({
    verdict: z.enum(['exact', 'approximate', 'changes the function', 'not preserving']),
    maxAbsLogitDiff: finite,
    lossSource: finite,
    lossGrown: finite,
    lossBound: z.number().positive().optional(),
  })
  .transform((c): GrowthCheck => {
    const numbers = { maxAbsLogitDiff: c.maxAbsLogitDiff, lossSource: c.lossSource, lossGrown: c.lossGrown, lossBound: c.lossBound ?? APPROX_LOSS_BOUND };
    if (c.verdict === 'not preserving') return { ...numbers, verdict: 'changes the function' };
    if (c.lossBound !== undefined || c.verdict !== 'approximate') return { ...numbers, verdict: c.verdict };
    const lossChange = c.lossGrown - c.lossSource;
    return { ...numbers, verdict: gradeCheck({ withinExactTolerance: false, lossChange, maxAbsLogitDiff: c.maxAbsLogitDiff }) };
  });

export const modelEntrySchema = z.object({
  id: idSchema,
  kind: z.enum(['source', 'grown', 'trained', 'scratch']),
  name: nameSchema,
  path: z.string().min(1),
  referenced: z.boolean(),
  shape: shapeSchema,
  params: posInt,
  createdAt: isoDate,
  lineage: z
    .object({
      parent: idSchema,
      method: z.string().optional(),
      options: z.record(z.string(), z.unknown()).optional(),
      seed: z.number().int().optional(),
      growth: growthCheckSchema.optional(),
      trainingId: idSchema.optional(),
    })
    .optional(),
}) satisfies z.ZodType<ModelEntry>;

export const datasetEntrySchema = z.object({
  id: idSchema,
  name: nameSchema,
  path: z.string().min(1),
  referenced: z.boolean(),
  kind: z.enum(['text', 'bin']),
  split: z.object({ from: z.number().min(0).max(1), to: z.number().min(0).max(1) }).optional(),
  bytes: z.number().int().nonnegative(),
  tokens: z.record(z.string(), z.number().int().nonnegative()).optional(),
  sample: z.string(),
  createdAt: isoDate,
}) satisfies z.ZodType<DatasetEntry>;

export const evalMetricsSchema = z.object({
  loss: finite,
  lossStdErr: z.number().nonnegative().optional(),
  windowLosses: z.array(z.number()).max(100_000).optional(),
  perplexity: z.number(),
  accuracy: finite,
  tokens: z.number().int().nonnegative(),
  windows: z.number().int().nonnegative(),
  ctx: posInt,
});

export const evaluationEntrySchema = z.object({
  id: idSchema,
  modelId: idSchema,
  datasetId: idSchema,
  metrics: evalMetricsSchema,
  backend: z.string().min(1),
  createdAt: isoDate,
}) satisfies z.ZodType<EvaluationEntry>;

export const trainSettingsSchema = z.strictObject({
  steps: posInt,
  batch: posInt,
  ctx: posInt,
  lr: z.number().positive(),
  minLr: z.number().nonnegative(),
  warmup: z.number().int().nonnegative(),
  schedule: z.enum(['cosine', 'linear', 'constant']),
  weightDecay: z.number().nonnegative(),
  clip: z.number().nonnegative(),
  gradAccum: posInt,
  seed: z.number().int().nonnegative(),
  evalEvery: posInt,
  checkpointEvery: posInt,
  recompute: z.boolean().optional(),
}) satisfies z.ZodType<TrainSettings>;

export const sessionStatusSchema = z.enum(['queued', 'running', 'paused', 'cancelled', 'interrupted', 'failed', 'done']);

export const trainingEntrySchema = z.object({
  id: idSchema,
  name: nameSchema,
  modelId: idSchema,
  datasetId: idSchema,
  valDatasetId: idSchema.optional(),
  settings: trainSettingsSchema,
  status: sessionStatusSchema,
  runDir: z.string().min(1),
  lastStep: z.number().int().nonnegative(),
  resultModelId: idSchema.optional(),
  initialValLoss: finite.optional(),
  finalValLoss: finite.optional(),
  error: z.string().optional(),
  origin: z.literal('handoff').optional(),
  createdAt: isoDate,
}) satisfies z.ZodType<TrainingEntry>;

export const jobKindSchema = z.enum(['grow', 'train', 'evaluate', 'experiment', 'sample', 'import', 'export', 'handoff']);
export const jobStatusSchema = z.enum(['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted']);

export const jobInfoSchema = z.object({
  id: idSchema,
  kind: jobKindSchema,
  status: jobStatusSchema,
  title: z.string(),
  entryId: idSchema.optional(),
  backend: z.string().optional(),
  error: z.string().optional(),
  createdAt: isoDate,
}) satisfies z.ZodType<JobInfo>;

/** A job record on disk: what the UI sees, plus what the worker needs to run it again. */
export const jobRecordSchema = jobInfoSchema.extend({
  spec: z.record(z.string(), z.unknown()),
  /** Entries the job reads (they cannot be deleted while it is queued or running). */
  uses: z.array(idSchema).optional(),
  /** The worker's process id while it runs (diagnostics, and waiting for an orphan to stop). */
  pid: z.number().int().optional(),
  finishedAt: z.string().optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

/** scion-project.json */
export const projectFileSchema = z.object({
  format: z.literal('scion-project'),
  schemaVersion: z.number().int().positive(),
  name: nameSchema,
  createdAt: isoDate,
});
export type ProjectFile = z.infer<typeof projectFileSchema>;

/** One readable line per problem: `field: what is wrong`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(value)'}: ${i.message}`).join('; ');
}

/** Parses `value` with `schema`, or throws a ScionError naming `where` and each bad field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, where: string, code = 'E_INVALID'): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new ScionError(`${where}: ${describeIssues(r.error)}`, code);
  return r.data;
}
