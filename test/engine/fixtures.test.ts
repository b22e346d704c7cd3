/**
 * The fixture checks (test/helpers/fixture-suite.ts) on wasm and cpu by default;
 * SCION_TEST_BACKENDS=a,b (or SCION_BACKEND=webgpu, as the GPU script does) picks others.
 * test/webgpu/fixtures.test.ts runs them on webgpu.
 */
import { fixtureSuite } from '../helpers/fixture-suite.ts';

const envBackend = process.env['SCION_BACKEND'];
const BACKENDS = (process.env['SCION_TEST_BACKENDS'] ?? (envBackend && envBackend !== 'wasm' ? envBackend : 'wasm,cpu')).split(',');

for (const backend of BACKENDS) fixtureSuite(backend);
