/**
 * AdamW (Loshchilov & Hutter 2019) over tf.Variables, written out so the moments are plain
 * named tensors a checkpoint can save and a growth operator can map:
 *   p <- p - lr * wd * p                      (decoupled decay, only where `decays(name)`)
 *   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * Weight decay applies to matrices only: never to norm gains, biases or embeddings.
 *
 * The update runs on groups of parameters at once: the moments live in flat variables, one
 * per group of up to CHUNK entries (parameters back to back, in the order of `params`; a
 * parameter bigger than CHUNK is cut into blocks of rows), the gradients and parameters are
 * concatenated into the same layout, the formulas above run once per group on the flat
 * tensors (parameters that take weight decay and those that do not are grouped apart, so no
 * mask is stored) and one split hands each parameter
 * its new value. A model under CHUNK entries is one group: about 20 kernels per step instead
 * of about 12 per parameter. Bigger models pay about 20 kernels per CHUNK entries, and the
 * update's temporaries stay bounded by the group (no full copies of all parameters or
 * gradients: the step needs the 16 bytes per parameter of weights, gradients and two moments,
 * plus one parameter's size while a cut parameter is put back together). Same element-wise
 * arithmetic, so the same float32 results, as the per-parameter form.
 * `m` and `v` by parameter name are materialised from the flat moments when read, and
 * released at the next update.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adamwInPlace, type FlatAdamW } from '../webgpu/adamw.ts';
import type { FlatBuffers } from '../webgpu/adamw-grouped.ts';
import { webgpuKernelsOn } from '../webgpu/ops.ts';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const DEFAULT_ADAMW: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

/** Whether decoupled weight decay applies to parameter `name` of shape `shape`. */
export function decays(name: string, shape: readonly number[]): boolean {
  if (shape.length < 2) return false; // norm gains and biases
  return !/(wte|wpe|embed_tokens|embed_positions)\.weight$/.test(name); // embeddings
}

let optimizers = 0;

/** A holder of an AdamW's moments (see `AdamW.lend`). */
export interface MomentsLoan {
  /** Hands the current moments back to the optimizer (through `setState`). */
  giveBack(): void;
}

/** Entries per group of the flat update (2^20 float32: 4 MB per temporary). */
export const CHUNK = 1 << 20;

let namedSets = 0;

/** Rows [row0, row0 + rows) of parameter `name` (all of it when `whole`), `size` entries. */
interface Piece {
  name: string;
  row0: number;
  rows: number;
  size: number;
  whole: boolean;
}

interface Group {
  pieces: Piece[];
  sizes: number[];
  m: tf.Variable; // [total]
  v: tf.Variable; // [total]
  /** Whether every piece takes weight decay (groups never mix: no mask to store). */
  decays: boolean;
}

/** Cuts the parameters into pieces of at most `chunk` entries (whole rows) and packs them into groups. */
export function planGroups(shapes: [string, readonly number[]][], chunk: number): Piece[][] {
  const groups: Piece[][] = [];
  let cur: Piece[] = [];
  let fill = 0;
  const push = (p: Piece) => {
    if (cur.length > 0 && fill + p.size > chunk) {
      groups.push(cur);
      cur = [];
      fill = 0;
    }
    cur.push(p);
    fill += p.size;
  };
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    const rows = shape.length === 0 ? 1 : shape[0]!;
    if (size <= chunk || rows <= 1) {
      push({ name, row0: 0, rows, size, whole: true });
      continue;
    }
    const rowSize = size / rows;
    const per = Math.max(1, Math.floor(chunk / rowSize));
    for (let r = 0; r < rows; r += per) {
      const n = Math.min(per, rows - r);
      push({ name, row0: r, rows: n, size: n * rowSize, whole: false });
    }
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

/** The piece of `t` (the parameter's shape) as a flat vector: [piece.size]. */
function pieceOf(t: tf.Tensor, p: Piece): tf.Tensor1D {
  if (p.whole) return (t.rank === 1 ? t : tf.reshape(t, [-1])) as tf.Tensor1D;
  const begin = t.shape.map((_, i) => (i === 0 ? p.row0 : 0));
  const size = t.shape.map((d, i) => (i === 0 ? p.rows : d));
  return tf.reshape(tf.slice(t, begin, size), [-1]) as tf.Tensor1D;
}

/** The pieces of each tensor (one per piece, by parameter name), concatenated: [total]. */
function groupConcat(pieces: Piece[], tensors: Record<string, tf.Tensor>, what: string): tf.Tensor1D {
  return tf.tidy(() => {
    const parts = pieces.map((p) => {
      const t = tensors[p.name];
      if (!t) throw new Error(`AdamW: no ${what} for parameter '${p.name}'`);
      return pieceOf(t, p);
    });
    return (parts.length === 1 ? tf.clone(parts[0]!) : tf.concat(parts)) as tf.Tensor1D; // [total]
  });
}

export class AdamW {
  /** Updates applied so far (t of the bias correction). */
  t = 0;
  private readonly groups: Group[];
  private readonly id: number;
  private named: { m: Record<string, tf.Variable>; v: Record<string, tf.Variable> } | undefined;
  /** Who updates the moments meanwhile (the CPU thread pool, parallel/shared-state.ts), if anyone. */
  private lent: MomentsLoan | undefined;

  constructor(
    readonly params: Record<string, tf.Variable>,
    readonly opts: AdamWOptions,
    chunk = CHUNK,
  ) {
    this.id = ++optimizers; // variable names are global to the engine
    const entries = Object.entries(params).map(([n, p]) => [n, p.shape] as [string, readonly number[]]);
    const decaying = entries.filter(([n, shape]) => decays(n, shape));
    const plain = entries.filter(([n, shape]) => !decays(n, shape));
    const plan = [...planGroups(decaying, chunk).map((g) => [g, true] as const), ...planGroups(plain, chunk).map((g) => [g, false] as const)];
    this.groups = plan.map(([pieces, groupDecays], gi) => {
      const sizes = pieces.map((p) => p.size);
      const total = sizes.reduce((a, b) => a + b, 0);
      const m = tf.tidy(() => tf.variable(tf.zeros([total]), false, `adamw${this.id}/m${gi}`));
      const v = tf.tidy(() => tf.variable(tf.zeros([total]), false, `adamw${this.id}/v${gi}`));
      return { pieces, sizes, m, v, decays: groupDecays };
    });
  }

  /** First moments by parameter name (current values; owned by the optimizer until the next update). */
  get m(): Record<string, tf.Variable> {
    return this.namedMoments().m;
  }

  /** Second moments by parameter name (current values; owned by the optimizer until the next update). */
  get v(): Record<string, tf.Variable> {
    return this.namedMoments().v;
  }

  /** A group's flat tensor cut back into its pieces, each in its rows' shape. */
  private unflatten(g: Group, flat: tf.Tensor): tf.Tensor[] {
    const parts = g.pieces.length === 1 ? [tf.clone(flat)] : tf.split(flat, g.sizes); // a clone shares the data: never hand out the variable itself
    return parts.map((t, i) => {
      const p = g.pieces[i]!;
      const shape = this.params[p.name]!.shape;
      const rowsShape = shape.length === 0 ? shape : [p.rows, ...shape.slice(1)];
      return rowsShape.length === 1 ? t : tf.reshape(t, rowsShape); // [size] -> the piece's rows
    });
  }

  /** Calls `fn` with each parameter's new value, put together from its pieces' values as they come out of `each` (one call per group). */
  private assemble(each: (g: Group) => tf.Tensor[], fn: (name: string, value: tf.Tensor) => void, groups: readonly Group[] = this.groups): void {
    const pending = new Map<string, tf.Tensor[]>();
    for (const g of groups) {
      const parts = tf.tidy(() => each(g));
      g.pieces.forEach((p, i) => {
        const part = parts[i]!;
        if (p.whole) {
          tf.tidy(() => fn(p.name, part));
          part.dispose();
          return;
        }
        const got = [...(pending.get(p.name) ?? []), part];
        pending.set(p.name, got);
        if (p.row0 + p.rows === this.params[p.name]!.shape[0]) {
          tf.tidy(() => fn(p.name, tf.concat(got, 0)));
          tf.dispose(got);
          pending.delete(p.name);
        }
      });
    }
  }

  /**
   * Lends the moments to `loan`, which updates them elsewhere (advancing `t` here) until they are
   * used here again: reading `m`/`v` or `apply` first calls `loan.giveBack()`, which must hand
   * them back through `setState`. `setState` (new moments) ends the loan without a give-back.
   */
  lend(loan: MomentsLoan): void {
    this.reclaim();
    this.releaseNamed();
    this.lent = loan;
  }

  isLentTo(loan: MomentsLoan | undefined): boolean {
    return loan !== undefined && this.lent === loan;
  }

  private reclaim(): void {
    const loan = this.lent;
    this.lent = undefined;
    loan?.giveBack();
  }

  private namedMoments(): { m: Record<string, tf.Variable>; v: Record<string, tf.Variable> } {
    this.reclaim();
    if (this.named) return this.named;
    const m: Record<string, tf.Variable> = {};
    const v: Record<string, tf.Variable> = {};
    this.assemble(
      (g) => this.unflatten(g, g.m),
      (n, x) => (m[n] = tf.variable(x, false, `adamw${this.id}/m/${n}/${++namedSets}`)),
    );
    this.assemble(
      (g) => this.unflatten(g, g.v),
      (n, x) => (v[n] = tf.variable(x, false, `adamw${this.id}/v/${n}/${++namedSets}`)),
    );
    this.named = { m, v };
    return this.named;
  }

  /** Frees the moments by name (a checkpoint's copy, the size of both moments) until they are read again. */
  releaseNamed(): void {
    if (!this.named) return;
    tf.dispose([...Object.values(this.named.m), ...Object.values(this.named.v)]);
    this.named = undefined;
  }

  /** Replaces the moments (and step count) with saved or carried-over values. Takes ownership of nothing: values are copied. */
  setState(m: Record<string, tf.Tensor>, v: Record<string, tf.Tensor>, t: number): void {
    for (const name of Object.keys(this.params)) {
      const mm = m[name];
      const vv = v[name];
      if (!mm || !vv) throw new Error(`optimizer state has no moments for '${name}'`);
      const want = this.params[name]!.shape;
      for (const x of [mm, vv])
        if (!tf.util.arraysEqual(x.shape, want))
          throw new Error(`optimizer state for '${name}' has shape [${x.shape.join(',')}], the parameter [${want.join(',')}]`);
    }
    this.lent = undefined;
    for (const g of this.groups)
      tf.tidy(() => {
        g.m.assign(groupConcat(g.pieces, m, 'first moment'));
        g.v.assign(groupConcat(g.pieces, v, 'second moment'));
      });
    this.releaseNamed();
    this.t = t;
  }

  /**
   * WebGPU (Scion's kernels on): updates a group of whole parameters in place, several parameters
   * per dispatch (webgpu/adamw.ts), with the same float32 arithmetic as the generic form below.
   * False when it does not apply (another backend, a group of row pieces, shared buffers).
   */
  private inPlace(grp: Group, grads: Record<string, tf.Tensor>, scale: number, h: Omit<FlatAdamW, keyof FlatBuffers>): boolean {
    if (!webgpuKernelsOn() || !grp.pieces.every((p) => p.whole)) return false;
    const g = tf.tidy(() => {
      const raw = groupConcat(grp.pieces, grads, 'gradient'); // [total]
      return scale === 1 ? raw : (tf.mul(raw, scale) as tf.Tensor1D);
    });
    try {
      const params = grp.pieces.map((p) => this.params[p.name]!);
      return adamwInPlace({ ...h, params, sizes: grp.sizes, decays: grp.pieces.map(() => grp.decays), m: grp.m, v: grp.v, g });
    } finally {
      g.dispose();
    }
  }

  /**
   * Applies one update with learning rate `lr` from gradients `grads` by parameter name (not
   * disposed), each multiplied by `scale` first (the clipping factor; 1 leaves them as they are).
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, scale = 1): void {
    this.reclaim();
    this.releaseNamed();
    this.t += 1;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.opts;
    const bc1 = 1 - Math.pow(b1, this.t);
    const bc2 = 1 - Math.pow(b2, this.t);
    const generic = this.groups.filter((grp) => !this.inPlace(grp, grads, scale, { lr, beta1: b1, beta2: b2, eps, weightDecay, bc1, bc2 }));
    this.assemble(
      (grp) => {
        const raw = groupConcat(grp.pieces, grads, 'gradient'); // [total]
        const g = scale === 1 ? raw : tf.mul(raw, scale);
        const p = groupConcat(grp.pieces, this.params, 'value'); // [total]
        const m1 = tf.add(tf.mul(grp.m, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(tf.mul(grp.v, b2), tf.mul(tf.square(g), 1 - b2));
        grp.m.assign(m1);
        grp.v.assign(v1);
        const step = tf.div(tf.div(m1, bc1), tf.add(tf.sqrt(tf.div(v1, bc2)), eps));
        const decayed = weightDecay > 0 && grp.decays ? tf.mul(p, 1 - lr * weightDecay) : p;
        return this.unflatten(grp, tf.sub(decayed, tf.mul(step, lr)));
      },
      (n, x) => this.params[n]!.assign(tf.reshape(x, this.params[n]!.shape)),
      generic,
    );
  }

  dispose(): void {
    this.lent = undefined;
    this.releaseNamed();
    for (const g of this.groups) {
      g.m.dispose();
      g.v.dispose();
    }
  }
}
