/**
 * Registers tfjs-core's gradient functions, which the core package does not do by itself
 * (the `@tensorflow/tfjs` umbrella package would). Under Node the core's main entry is a
 * CommonJS bundle without them, and its ESM files use extension-less relative imports
 * Node cannot resolve; a resolve hook scoped to tfjs-core's dist folder adds the `.js`.
 * The gradient functions then register into tfjs's process-wide gradient registry, and
 * their ops run on the shared engine. Bundlers (vite, esbuild) need no hook.
 */
import * as tf from '@tensorflow/tfjs-core';
import { register } from 'node:module';

const RESOLVE_HOOK = `
export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent && parent.includes('/@tensorflow/tfjs-core/dist/') && specifier.startsWith('.') && !specifier.endsWith('.js')) {
    return next(specifier + '.js', context);
  }
  return next(specifier, context);
}`;

let ready: Promise<void> | undefined;

/** Makes tf.grad / tf.variableGrads work for every op the models use. Idempotent. */
export function ensureGradients(): Promise<void> {
  ready ??= (async () => {
    if (tf.getGradient('Neg') !== undefined) return;
    register('data:text/javascript,' + encodeURIComponent(RESOLVE_HOOK));
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    if (tf.getGradient('Neg') === undefined) throw new Error('tfjs gradients could not be registered');
  })();
  return ready;
}
