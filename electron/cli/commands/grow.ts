/**
 * `scion grow <source-dir> --out <dir> --method <name> ...`: grow a model (width, depth or
 * both), write a Hugging Face folder with growth.json, and report whether the function was kept.
 */
import { initBackend } from '../../engine/backend.ts';
import { ScionError } from '../../engine/errors.ts';
import { parseShardSize } from '../../engine/io/model-weights.ts';
import {
  APPROX_LOSS_BOUND,
  DEPTH_MODES,
  type DepthMode,
  type GrowDirOptions,
  VERDICT_SCALE,
  LOGIT_ABS_TOL,
  LOGIT_REL_TOL,
  explainVerdict,
  growModelDir,
  growthCheckOf,
  growthMethods,
} from '../../engine/growth/index.ts';
import { recordGrowth } from '../../store/record.ts';
import { COMMON_OPTIONS, type Command, intOption, log, numberOption, parseCommandArgs, requireOption, writeJson } from '../command.ts';

function depthOption(value: string | undefined): DepthMode | undefined {
  if (value === undefined) return undefined;
  if (!(DEPTH_MODES as readonly string[]).includes(value))
    throw new ScionError(`scion grow: --depth must be one of ${DEPTH_MODES.join(', ')}, got '${value}'`, 'E_USAGE');
  return value as DepthMode;
}

function insertAtOption(value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((p) => {
    const n = Number(p.trim());
    if (!Number.isInteger(n) || n < 0)
      throw new ScionError(`scion grow: --insert-at takes block positions like 0,2 (after how many source blocks), got '${value}'`, 'E_USAGE');
    return n;
  });
}

export const growCommand: Command = {
  name: 'grow',
  summary: 'grow a model (HyperCloning, zero-pad, Net2Net, identity blocks, ...) and check it keeps the function',
  usage: [
    'scion grow <source-dir> --out <dir> --method <name> [--hidden D | --width-mult n] [--ffn F | --ffn-mult m]',
    '           [--heads H] [--kv-heads K] [--layers L] [--depth identity|stack|interpolate] [--insert-at i,j]',
    '           [--noise-db X] [--seed S] [--check-data <file>] [--check-windows N] [--check-ctx T] [--max-shard-size 5GB]',
    '           [--force] [--project DIR] [--backend NAME] [--json]',
    '       scion grow --list-methods [--json]',
    '',
    'width methods: hypercloning, zero-pad, random-pad, net2net, aki, mlp-zero, add-heads, msg',
    'depth only:    --method identity|stack|interpolate --layers L (e.g. --method stack --layers 8)',
    'width + depth: a width method with --layers L --depth identity|stack|interpolate',
    '--insert-at:   identity blocks go after that many source blocks (default: at the end; a list is cycled)',
    'msg:           masked growth: random-pad values plus growth-mask.safetensors (1 copied, 0 new); the check runs',
    '               on the masked model at ramp 0; train it with scion train --mask-ramp K (new parts ramp in over K steps)',
    'The check compares source and grown logits on --check-data (or random token windows) and gives',
    `the verdict exact / approximate (|loss change| <= ${APPROX_LOSS_BOUND} nats) / changes the function; growth.json in the output records everything.`,
    '--force:       replaces an existing --out only when Scion wrote it (never a folder with other files, or one holding the source)',
    '--max-shard-size: weights above it are written as transformers shards (model-00001-of-0000N.safetensors +',
    '               model.safetensors.index.json); default 5GB, as save_pretrained; e.g. 500MB, 2GB, 2GiB',
  ].join('\n'),
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('grow', argv, {
      ...COMMON_OPTIONS,
      out: { type: 'string' },
      method: { type: 'string' },
      hidden: { type: 'string' },
      'width-mult': { type: 'string' },
      ffn: { type: 'string' },
      'ffn-mult': { type: 'string' },
      heads: { type: 'string' },
      'kv-heads': { type: 'string' },
      layers: { type: 'string' },
      depth: { type: 'string' },
      'insert-at': { type: 'string' },
      'noise-db': { type: 'string' },
      seed: { type: 'string' },
      'check-data': { type: 'string' },
      'check-windows': { type: 'string' },
      'check-ctx': { type: 'string' },
      'max-shard-size': { type: 'string' },
      force: { type: 'boolean', default: false },
      'list-methods': { type: 'boolean', default: false },
      project: { type: 'string' },
    });
    if (values['list-methods']) {
      const methods = growthMethods();
      if (values.json) writeJson(io, { methods });
      else io.stdout.write(methods.map((m) => `${m.name.padEnd(13)} ${m.kind.padEnd(6)} exact: ${String(m.exact).padEnd(8)} ${m.summary}`).join('\n') + '\n');
      return 0;
    }
    const source = requireOption('grow', '<source-dir>', positionals[0]);
    if (positionals.length > 1) throw new ScionError(`scion grow: one source folder expected, got ${positionals.length}: ${positionals.join(' ')}`, 'E_USAGE');
    const out = requireOption('grow', 'out', values.out);
    const method = requireOption('grow', 'method', values.method);
    const opts: GrowDirOptions = { method, force: values.force, onLog: (line) => log(io, line) };
    const set = <K extends keyof GrowDirOptions>(k: K, v: GrowDirOptions[K] | undefined): void => {
      if (v !== undefined) opts[k] = v;
    };
    set('hidden', intOption('grow', 'hidden', values.hidden));
    set('widthMult', numberOption('grow', 'width-mult', values['width-mult']));
    set('ffn', intOption('grow', 'ffn', values.ffn));
    set('ffnMult', numberOption('grow', 'ffn-mult', values['ffn-mult']));
    set('heads', intOption('grow', 'heads', values.heads));
    set('kvHeads', intOption('grow', 'kv-heads', values['kv-heads']));
    set('layers', intOption('grow', 'layers', values.layers));
    set('depth', depthOption(values.depth));
    set('insertAt', insertAtOption(values['insert-at']));
    set('noiseDb', numberOption('grow', 'noise-db', values['noise-db']));
    set('seed', intOption('grow', 'seed', values.seed, undefined, 0));
    set('checkData', values['check-data']);
    set('checkWindows', intOption('grow', 'check-windows', values['check-windows']));
    set('checkLength', intOption('grow', 'check-ctx', values['check-ctx'], undefined, 2));
    set('maxShardBytes', values['max-shard-size'] !== undefined ? parseShardSize(values['max-shard-size'], 'scion grow: --max-shard-size') : undefined);
    const backend = await initBackend(values.backend);
    log(io, `backend: ${backend.name}`);
    const r = await growModelDir(source, out, opts);
    const c = r.check!;
    if (values.project) {
      const m = await recordGrowth(values.project, {
        sourceDir: source,
        outDir: out,
        method: r.method,
        options: r.options,
        seed: r.seed,
        check: growthCheckOf(c),
      });
      log(io, `recorded in project ${values.project} as model ${m.id}`);
    }
    if (values.json) {
      writeJson(io, {
        method: r.method,
        source: r.source.path,
        source_sha256: r.source.sha256,
        out: r.out,
        params_source: r.paramsSource,
        params_target: r.paramsTarget,
        source_shape: r.sourceShape,
        target_shape: r.targetShape,
        verdict: c.verdict,
        theory: r.theory.verdict,
        theory_why: r.theory.why,
        max_abs_logit_diff: c.maxAbsLogitDiff,
        within_exact_tolerance: c.withinExactTolerance,
        loss_source: c.lossSource,
        loss_grown: c.lossGrown,
        loss_change: c.lossChange,
        loss_bound: c.lossBound,
        verdict_scale: VERDICT_SCALE,
        check_windows: c.windows,
        check_ctx: c.length,
        check_data: c.origin,
        ...(r.mask ? { mask_file: r.mask.file, mask_new_entries: r.mask.newEntries, check_at_ramp: 0 } : {}),
        seed: r.seed,
        backend: backend.name,
        seconds: r.seconds,
      });
    } else {
      const s = r.sourceShape;
      const t = r.targetShape;
      io.stdout.write(
        [
          `method       ${r.method}`,
          `source       ${r.source.path} (${r.paramsSource.toLocaleString('en-US')} params: hidden ${s.hidden}, ffn ${s.ffn}, heads ${s.heads}/${s.kvHeads}, layers ${s.layers})`,
          `grown        ${r.out} (${r.paramsTarget.toLocaleString('en-US')} params: hidden ${t.hidden}, ffn ${t.ffn}, heads ${t.heads}/${t.kvHeads}, layers ${t.layers})`,
          `theory       ${r.theory.verdict}: ${r.theory.why}`,
          `check        ${c.windows} windows of ${c.length} tokens (${c.origin})${r.mask ? ', masked model at ramp 0' : ''}`,
          ...(r.mask
            ? [
                `mask         ${r.mask.file}: ${r.mask.newEntries.toLocaleString('en-US')} new entries in ${r.mask.tensors} tensors (ramp them in with scion train --mask-ramp K)`,
              ]
            : []),
          `max |dlogit| ${c.maxAbsLogitDiff.toExponential(3)}${c.withinExactTolerance ? ` (within ${LOGIT_ABS_TOL.toExponential(0)} + ${LOGIT_REL_TOL.toExponential(0)}|logit|)` : ''}`,
          `loss         source ${c.lossSource.toFixed(6)}, grown ${c.lossGrown.toFixed(6)} (change ${c.lossChange >= 0 ? '+' : ''}${c.lossChange.toExponential(3)} nats)`,
          `verdict      ${c.verdict} (${explainVerdict(c.verdict, c, r.theory.verdict)})`,
          `scale        ${VERDICT_SCALE}`,
          `time         grow ${r.seconds.grow.toFixed(2)} s, check ${r.seconds.check.toFixed(2)} s`,
        ].join('\n') + '\n',
      );
    }
    return 0;
  },
};
