/** A tiny typed event hub: the service's job events, to any number of listeners. */
import type { JobEvent } from '../shared/contract.ts';

export class EventHub {
  private readonly listeners = new Set<(e: JobEvent) => void>();

  on(listener: (e: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(e: JobEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a listener's failure must not stop the job or the other listeners
      }
    }
  }
}
