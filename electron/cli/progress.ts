/** A one-line progress bar with ETA on a terminal; silent when stderr is not a terminal. */
import type { CommandIO } from './command.ts';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

export class ProgressBar {
  private readonly start = Date.now();
  private lastDraw = 0;
  constructor(
    private readonly io: CommandIO,
    private readonly total: number,
    private readonly label: string,
  ) {}

  update(done: number, extra = ''): void {
    if (!this.io.stderr.isTTY) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && done < this.total) return;
    this.lastDraw = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 28;
    const filled = Math.round(frac * width);
    const elapsed = (now - this.start) / 1000;
    const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : NaN;
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    this.io.stderr.write(`\r${this.label} [${bar}] ${done}/${this.total} ${extra} ETA ${formatDuration(eta)}   `);
  }

  done(): void {
    if (this.io.stderr.isTTY) this.io.stderr.write('\n');
  }
}
