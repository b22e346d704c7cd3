/** Finds a Python 3 with PyTorch for the hand-off tests (Debian's python3-torch in CI), or says why there is none. */
import { spawnSync } from 'node:child_process';

export interface TorchPython {
  python?: string;
  /** Why the PyTorch tests are skipped, when no Python has torch. */
  skip?: string;
}

export function findTorchPython(): TorchPython {
  const tried: string[] = [];
  for (const python of [process.env['SCION_TEST_PYTHON'], 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(python, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python };
    tried.push(python);
  }
  return { skip: `no Python with PyTorch and numpy (tried ${tried.join(', ')}; apt-get install python3-torch)` };
}
