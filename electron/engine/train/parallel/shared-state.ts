/**
 * What a threaded step keeps in the pool's shared memory between steps: the parameters (rank
 * 0's variables are assigned from them after each update) and the AdamW moments, which the
 * optimizer lends to the pool (AdamW.lend) so each rank updates its slice in place; reading
 * the moments (a checkpoint) or updating in this thread hands them back first. Anything that
 * changes the variables or the moments outside the pool (an evaluation on the pool, a resume's
 * setState) is noticed, and the pool copies them in again before the next step.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { AdamW, MomentsLoan } from '../adamw.ts';
import type { Variables } from '../step.ts';
import { assignAll, copyAllOut, tensorsOf } from './heap.ts';
import type { ThreadPool } from './pool.ts';

interface Held {
  /** The variables the shared parameters equal, their data ids then, and the pool's version then. */
  vars?: { of: Variables; ids: tf.DataId[]; version: number };
  loan?: MomentsLoan;
}

const held = new WeakMap<ThreadPool, Held>();

function heldBy(pool: ThreadPool): Held {
  let h = held.get(pool);
  if (!h) held.set(pool, (h = {}));
  return h;
}

function dataIds(pool: ThreadPool, vars: Variables): tf.DataId[] {
  return pool.names.map((n) => vars[n]!.dataId);
}

function holdsVars(pool: ThreadPool, h: Held, vars: Variables): boolean {
  const x = h.vars;
  return !!x && x.of === vars && x.version === pool.version && dataIds(pool, vars).every((id, i) => id === x.ids[i]);
}

/** Makes the shared memory hold `vars` and `optimizer`'s moments (copying in only what is not there already). */
export function takeState(pool: ThreadPool, vars: Variables, optimizer: AdamW): void {
  const h = heldBy(pool);
  if (!holdsVars(pool, h, vars)) {
    pool.writeParams(vars);
    h.vars = { of: vars, ids: dataIds(pool, vars), version: pool.version };
  }
  if (!optimizer.isLentTo(h.loan)) {
    copyAllOut(pool.layout, optimizer.m, pool.shared.m, 'first moment');
    copyAllOut(pool.layout, optimizer.v, pool.shared.v, 'second moment');
    const loan: MomentsLoan = { giveBack: () => giveBack(pool, optimizer) };
    optimizer.lend(loan);
    h.loan = loan;
  }
}

function giveBack(pool: ThreadPool, optimizer: AdamW): void {
  const m = tensorsOf(pool.layout, pool.shared.m);
  const v = tensorsOf(pool.layout, pool.shared.v);
  try {
    optimizer.setState(m, v, optimizer.t);
  } finally {
    for (const x of [...Object.values(m), ...Object.values(v)]) x.dispose();
  }
}

/** After the shared parameters were updated: a new version for the threads, and `vars` (rank 0's) assigned from them. */
export function updatedParams(pool: ThreadPool, vars: Variables): void {
  pool.version++;
  assignAll(pool.layout, pool.shared.params, vars);
  heldBy(pool).vars = { of: vars, ids: dataIds(pool, vars), version: pool.version };
}
