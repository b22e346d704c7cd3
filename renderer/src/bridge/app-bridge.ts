/** The bridge the app holds: the contract's ScionBridge plus where it runs and its connection state. */
import type { ScionBridge } from '../../../electron/shared/contract.ts';

export type AppBridge = ScionBridge & {
  mode: 'electron' | 'browser';
  /** Resolves when connected; rejects when the engine side refused the connection. */
  ready: Promise<void>;
  onClose(listener: () => void): void;
};
