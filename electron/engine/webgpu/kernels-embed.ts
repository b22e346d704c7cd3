/**
 * The embedding's gradient on WebGPU, deterministic: dTable[v, :] = sum of dY[i, :] over the
 * positions i with ids[i] = v, added in ascending i whatever the scheduling (tfjs's scatter
 * adds with float atomics, in whatever order the threads land, so two runs differ in the last
 * bits wherever a token repeats). The positions of each token are chained in order:
 *   ScionEmbedNext  next[i] = the next position with the same id, -1 at the last     [N]
 *   (fill, head)    head[v] = the first position of id v (written by that position
 *                   only, into a [V] tensor of -1: no two threads write one entry)   [V]
 *   ScionEmbedGrad  one thread per (v, column): walks v's chain from head[v]        [V, D]
 * The scans cost O(N) per position (N = B*T, thousands), the walk O(occurrences) per entry.
 * Positions are below 2^24, so they are exact as float32.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { i32, runProgram, type Kernel } from './program.ts';

const embedNext: Kernel = ({ inputs: { ids }, backend }) => {
  const n = ids.shape[0]!;
  const body = `
  let id = IDS[index]; var nx = -1;
  for (var j = index + 1; j < uniforms.n; j++) { if (IDS[j] == id) { nx = j; break; } }
  result[index] = f32(nx);`;
  return runProgram(backend, 'embednext', ['IDS'], [ids], [n], n, [], body);
};

/** Writes head[ids[i]] = i into `into` ([V], filled with -1) for each first occurrence i. */
function embedHead(backend: WebGPUBackend, ids: TensorInfo, into: TensorInfo): void {
  const n = ids.shape[0]!;
  const body = `
  let id = IDS[index];
  if (id < 0 || id >= uniforms.v) { return; }
  for (var j = 0; j < index; j++) { if (IDS[j] == id) { return; } }
  result[id] = f32(index);`;
  runProgram(backend, 'embedhead', ['IDS'], [ids], into.shape, n, [i32('v', into.shape[0]!)], body, into);
}

/** dTable [V, D] from dY [N, D] and the ids [N] (int32); attrs.vocab = V. */
const embedGrad: Kernel = ({ inputs: { dy, ids }, backend, attrs }) => {
  const vocab = attrs['vocab'] as number;
  const d = dy.shape[1]!;
  const next = embedNext({ inputs: { ids: ids! }, backend, attrs: {} });
  const head = runProgram(backend, 'embedfill', [], [], [vocab], vocab, [], 'result[index] = -1.0;'); // [V]
  embedHead(backend, ids!, head);
  const body = `
  let D = uniforms.d; let v = index / D; let c = index % D;
  var j = i32(HEAD[v]); var s = 0.0;
  loop {
    if (j < 0) { break; }
    s += DY[j * D + c];
    j = i32(NEXT[j]);
  }
  result[index] = s;`;
  const out = runProgram(backend, 'embedgrad', ['DY', 'HEAD', 'NEXT'], [dy!, head, next], [vocab, d], vocab * d, [i32('d', d)], body);
  for (const t of [head, next]) backend.disposeData(t.dataId);
  return out;
};

export const EMBED_KERNELS: Record<string, Kernel> = { ScionEmbedGrad: embedGrad };
