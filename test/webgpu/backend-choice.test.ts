/**
 * Backend choice with a WebGPU adapter: `--backend auto` takes WebGPU on a hardware adapter,
 * never on a software rasteriser; `scion info` shows the adapter. The real-adapter checks run
 * the CLI in a child process (lavapipe in CI: software, so auto must pick wasm).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { type AdapterLike, autoRefusal, describeAdapter } from '../../electron/engine/webgpu/adapter.ts';
import { ROOT } from '../helpers/fixtures.ts';
import { webgpuOrSkip } from './adapter.ts';

function fake(info: AdapterLike['info'], features: string[] = []): AdapterLike {
  return { info, features: new Set(features), limits: { maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 31, maxStorageBuffersPerShaderStage: 10 } };
}

test('hardware adapters are chosen by auto, software rasterisers are not', () => {
  const nvidia = describeAdapter(fake({ vendor: 'nvidia', architecture: 'hopper', device: 'NVIDIA H100 80GB HBM3', description: '' }, ['shader-f16']));
  assert.equal(nvidia.software, false);
  assert.equal(nvidia.shaderF16, true);
  assert.equal(nvidia.name, 'NVIDIA H100 80GB HBM3');
  assert.equal(autoRefusal(nvidia), undefined);
  const apple = describeAdapter(fake({ vendor: 'apple', architecture: 'metal-3', device: '', description: 'Apple M2' }));
  assert.equal(autoRefusal(apple), undefined);
  for (const info of [
    { vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15', description: 'llvmpipe: Mesa 25.0.7' },
    { vendor: 'google', architecture: '', device: 'SwiftShader Device (Subzero)', description: '' },
    { vendor: 'microsoft', architecture: '', device: '', description: 'Microsoft Basic Render Driver' },
    { vendor: 'x', architecture: '', device: 'y', description: '', isFallbackAdapter: true },
  ]) {
    const r = describeAdapter(fake(info));
    assert.equal(r.software, true, JSON.stringify(info));
    assert.match(autoRefusal(r)!, /software rasteriser/);
  }
});

const skip = await webgpuOrSkip();

describe('scion info with the real adapter', { skip }, () => {
  const info = (backend: string) => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'scion.js'), 'info', '--json', '--backend', backend], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as {
      backend: string;
      attempts: { name: string; ok: boolean; reason?: string }[];
      gpuAdapter: { name: string; software: boolean } | null;
    };
  };

  test('auto shows the adapter and uses WebGPU only when it is hardware', () => {
    const j = info('auto');
    assert.ok(j.gpuAdapter, 'the adapter is reported');
    assert.ok(j.gpuAdapter.name.length > 0);
    const webgpu = j.attempts.find((a) => a.name === 'webgpu')!;
    if (j.gpuAdapter.software) {
      assert.notEqual(j.backend, 'webgpu');
      assert.equal(webgpu.ok, false);
      assert.match(webgpu.reason!, /software rasteriser/);
    } else assert.equal(j.backend, 'webgpu');
    if (process.env['CI']) assert.equal(j.gpuAdapter.software, true, 'CI has lavapipe, a software adapter');
  });

  test('--backend webgpu uses the adapter even when it is software', () => {
    const j = info('webgpu');
    assert.equal(j.backend, 'webgpu');
    assert.ok(j.gpuAdapter);
  });
});
