// An ESM resolve hook for tfjs-core's ES-module files, whose relative imports have no file
// extension ('../gradients' next to a 'gradients/' folder): Node's ESM resolver refuses
// those, so the hook tries the specifier with '.js' first. Registered by gradients.ts.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function resolve(specifier, context, next) {
  const parent = context.parentURL ?? '';
  if (parent.includes('/@tensorflow/tfjs-core/dist/') && (specifier.startsWith('./') || specifier.startsWith('../')) && !specifier.endsWith('.js')) {
    const url = new URL(specifier + '.js', parent);
    if (existsSync(fileURLToPath(url))) return next(url.href, context);
  }
  return next(specifier, context);
}
