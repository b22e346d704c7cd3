/** A tiny typed event hub: the service's job events, each with its project's folder, to any number of listeners. */
import type { JobEvent } from '../shared/contract.ts';

export type JobEventListener = (e: JobEvent, projectDir: string) => void;

export class EventHub {
  private readonly listeners = new Set<JobEventListener>();

  on(listener: JobEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: JobEvent, projectDir: string): void {
    for (const l of this.listeners) {
      try {
        l(e, projectDir);
      } catch {
        // a listener's failure must not stop the job or the other listeners
      }
    }
  }
}
