/**
 * Registers tfjs-core's gradient functions. The CommonJS build of tfjs-core that Node loads
 * has none (the `@tensorflow/tfjs` bundle normally adds them); they live only in its ES
 * modules, whose extensionless imports need the resolve hook in resolve-hook.mjs under
 * plain Node. The registries are global, so registering through the ES-module copy serves
 * the CommonJS copy too. Idempotent.
 */
import * as tf from '@tensorflow/tfjs-core';
import { register } from 'node:module';

let done: Promise<void> | undefined;

export function registerAllGradients(): Promise<void> {
  done ??= (async () => {
    if (tf.getGradient('Neg')) return; // a bundler (Electron build) already registered them
    register('./resolve-hook.mjs', import.meta.url);
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    if (!tf.getGradient('Neg')) throw new Error('tfjs-core gradients did not register');
  })();
  return done;
}
