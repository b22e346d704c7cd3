/**
 * Stands in for Electron's utilityProcess child in tests: gives a forked Node process the
 * `process.parentPort` an Electron utility process has, then runs the real worker entry.
 */
const parentPort = {
  on(_event: 'message', listener: (e: { data: unknown }) => void): void {
    process.on('message', (m) => listener({ data: m }));
  },
  postMessage(message: unknown): void {
    process.send?.(message);
  },
};
Object.defineProperty(process, 'parentPort', { value: parentPort });
await import('../../electron/jobs/worker.ts');
