/**
 * Calls `fn` on every item, at most `jobs` at a time, starting them in order. After the
 * first failure no new item starts, `onFailure` is called once (to stop the others), and
 * the first error is rethrown when the running ones have settled. `shouldStart` can hold
 * back the remaining items (e.g. after Ctrl-C). (The processes themselves are started by the
 * job workers, electron/jobs; this only limits how many runs are in flight.)
 */
export async function runPool<T>(
  items: readonly T[],
  jobs: number,
  fn: (item: T, index: number) => Promise<void>,
  opts: { shouldStart?: () => boolean; onFailure?: () => void } = {},
): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !failed && (opts.shouldStart?.() ?? true)) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (e) {
        if (!failed) {
          failed = { error: e };
          opts.onFailure?.();
        }
      }
    }
  };
  const n = Math.max(1, Math.min(jobs, items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failed) throw failed.error;
}
