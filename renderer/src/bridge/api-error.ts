/** An error the engine side reported: its readable message and stable code. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** The app's names for the settings the engine's messages call by their CLI flags. */
const FIELD_NAMES: Record<string, string> = {
  ctx: 'Context',
  steps: 'Steps',
  batch: 'Batch',
  lr: 'Learning rate',
  'min-lr': 'final learning rate',
  warmup: 'Warmup steps',
  rewarm: 're-warm-up',
  schedule: 'Schedule',
  'eval-every': 'Validate every',
  'eval-windows': 'evaluation windows',
  'checkpoint-every': 'Checkpoint every',
  'grad-accum': 'gradient accumulation',
  'weight-decay': 'weight decay',
  clip: 'gradient clip',
  seed: 'Seed',
  hidden: 'Hidden',
  'width-mult': 'width multiplier',
  ffn: 'FFN',
  'ffn-mult': 'FFN multiplier',
  heads: 'Heads',
  'kv-heads': 'KV heads',
  layers: 'Layers',
  depth: 'Depth',
  'insert-at': 'insert position',
  'noise-db': 'Noise (dB)',
  method: 'Method',
  'mask-ramp': 'mask ramp',
  'max-windows': 'Windows per dataset',
};

/** An engine message in the app's words: "--kv-heads must equal the heads" -> "“KV heads” must equal the heads". */
export function inAppWords(message: string): string {
  return message.replace(/(^|[\s(])--([a-z][a-z-]*)\b/g, (all, before: string, flag: string) => {
    const name = FIELD_NAMES[flag];
    return name ? `${before}“${name}”` : all;
  });
}

/** The message to show the user for anything thrown by a call. */
export function readableError(e: unknown): string {
  if (e instanceof Error) return inAppWords(e.message.replace(/^Error invoking remote method '[^']+': (Error: )?/, ''));
  return String(e);
}
