/** The fixture checks (logits and eval loss vs transformers) on WebGPU (Dawn; lavapipe in CI). */
import { describe } from 'node:test';
import { fixtureSuite } from '../helpers/fixture-suite.ts';
import { webgpuOrSkip } from './adapter.ts';

const skip = await webgpuOrSkip();
if (skip) describe('fixtures on webgpu', { skip }, () => undefined);
else fixtureSuite('webgpu');
