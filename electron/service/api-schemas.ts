/**
 * The parameters of every `ScionApi` method, as zod schemas: the service checks each payload
 * the UI sends (over IPC or the WebSocket) against its method's schema before anything
 * touches the disk. The table is also the runtime list of the contract's method names.
 */
import { z } from 'zod';
import { DEPTH_MODES } from '../engine/growth/options.ts';
import type { ApiMethod, GrowRequest, HandoffRequest, SampleRequest } from '../shared/contract.ts';
import { idSchema, nameSchema, trainSettingsSchema } from '../store/schemas.ts';

const finite = z.number().finite();
const posInt = z.number().int().positive();

const empty = z.strictObject({});
/** The longest path accepted (Linux's PATH_MAX; longer paths fail in the OS anyway). */
export const MAX_PATH_LENGTH = 4096;
/** An absolute path on the engine's machine. */
const absPath = z
  .string()
  .min(1, 'a path is required')
  .max(MAX_PATH_LENGTH, `is not a path: longer than ${MAX_PATH_LENGTH} characters (was something else pasted into the field?)`)
  .refine((p) => p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\'), 'must be an absolute path')
  .refine((p) => !p.includes('\0'), 'must not contain NUL');

const growShape = {
  sourceId: idSchema,
  method: z.string().min(1).max(64),
  hidden: posInt.optional(),
  widthMult: z.number().positive().optional(),
  ffn: posInt.optional(),
  ffnMult: z.number().positive().optional(),
  heads: posInt.optional(),
  kvHeads: posInt.optional(),
  layers: posInt.optional(),
  depth: z.enum(DEPTH_MODES).optional(),
  noiseDb: finite.optional(),
  seed: z.number().int().nonnegative().optional(),
  checkDatasetId: idSchema.optional(),
};
export const growRequestSchema = z.strictObject({ ...growShape, name: nameSchema }) satisfies z.ZodType<GrowRequest>;

/** Every method's parameter schema. */
export const apiParamSchemas = {
  'app.info': empty,
  'project.create': z.strictObject({ dir: absPath, name: nameSchema }),
  'project.open': z.strictObject({ dir: absPath }),
  'project.recent': empty,
  'project.state': empty,
  'model.import': z.strictObject({ path: absPath, name: nameSchema, copy: z.boolean() }),
  'model.delete': z.strictObject({ id: idSchema, confirm: z.literal(true, 'deleting needs confirm: true') }),
  'model.export': z.strictObject({ id: idSchema, dir: absPath }),
  'model.card': z.strictObject({ id: idSchema }),
  'model.handoff': z.strictObject({
    modelId: idSchema,
    datasetId: idSchema,
    valDatasetId: idSchema.optional(),
    out: absPath,
    settings: trainSettingsSchema.partial(),
    maskRamp: posInt.optional(),
    force: z.boolean().optional(),
  }) satisfies z.ZodType<HandoffRequest>,
  'dataset.add': z.strictObject({ path: absPath, name: nameSchema, copy: z.boolean() }),
  'dataset.delete': z.strictObject({ id: idSchema, confirm: z.literal(true, 'deleting needs confirm: true') }),
  'grow.methods': empty,
  'grow.preview': z.strictObject(growShape),
  'grow.start': growRequestSchema,
  'memory.plan': z.discriminatedUnion('work', [
    z.strictObject({ work: z.literal('train'), modelId: idSchema, batch: posInt, ctx: z.number().int().min(2), recompute: z.boolean().optional() }),
    z.strictObject({ work: z.literal('evaluate'), modelIds: z.array(idSchema).min(1, 'pick at least one model').max(64) }),
    z.strictObject({ work: z.literal('grow'), ...growShape }),
  ]),
  'evaluate.start': z.strictObject({
    modelIds: z.array(idSchema).min(1, 'pick at least one model').max(64),
    datasetIds: z.array(idSchema).min(1, 'pick at least one dataset').max(64),
    maxWindows: posInt.optional(),
  }),
  'train.start': z.strictObject({
    modelId: idSchema,
    datasetId: idSchema,
    valDatasetId: idSchema.optional(),
    name: nameSchema,
    settings: trainSettingsSchema.partial(),
  }),
  'train.resume': z.strictObject({ trainingId: idSchema }),
  'train.metrics': z.strictObject({ trainingId: idSchema }),
  'training.import': z.strictObject({ dir: absPath }),
  'training.rename': z.strictObject({ id: idSchema, name: nameSchema }),
  'training.delete': z.strictObject({ id: idSchema, confirm: z.literal(true, 'deleting needs confirm: true') }),
  'job.rename': z.strictObject({ jobId: idSchema, title: z.string().trim().min(1, 'give a title').max(200) }),
  'job.delete': z.strictObject({ jobId: idSchema, confirm: z.literal(true, 'deleting needs confirm: true') }),
  'job.cancel': z.strictObject({ jobId: idSchema, pause: z.boolean().optional() }),
  'job.list': empty,
  'job.log': z.strictObject({ jobId: idSchema }),
  'experiment.start': z.strictObject({
    name: nameSchema,
    sourceId: idSchema,
    datasetId: idSchema,
    valDatasetId: idSchema,
    evalDatasetIds: z.array(idSchema).max(16).optional(),
    target: z.strictObject({
      hidden: posInt.optional(),
      layers: posInt.optional(),
      ffn: posInt.optional(),
      heads: posInt.optional(),
      kvHeads: posInt.optional(),
    }),
    methods: z.string().min(1).max(400),
    noiseDb: z.number().finite().optional(),
    settings: trainSettingsSchema.partial(),
  }),
  'experiment.results': z.strictObject({ jobId: idSchema }),
  'sample.start': z.strictObject({
    modelIds: z.array(idSchema).min(1, 'pick at least one model').max(16),
    prompt: z.string().min(1, 'write a prompt to start from').max(10_000),
    tokens: z.number().int().min(1).max(2048),
    temperature: z.number().min(0).max(10),
    topK: z.number().int().min(0),
    seed: z.number().int().nonnegative(),
  }) satisfies z.ZodType<SampleRequest>,
} satisfies Record<ApiMethod, z.ZodType>;
