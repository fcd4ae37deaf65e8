/**
 * A one-line progress bar for long CLI work (put/get of big files, scrub, repair), drawn on stderr so stdout
 * stays machine-readable. Redrawn at most every 100 ms; `done()` ends the line. Disabled (no output) unless
 * stderr is a terminal or the caller forces it (`--progress`).
 */
export class ProgressBar {
  #lastMs = 0;
  #started = Date.now();
  #drawn = false;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly enabled: boolean,
    private readonly unit: 'bytes' | 'items' = 'bytes',
    private readonly out: NodeJS.WritableStream = process.stderr,
  ) {}

  update(current: number, extra = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.#lastMs < 100 && (this.total === undefined || current < this.total)) return;
    this.#lastMs = now;
    this.out.write(`\r${this.render(current, extra)}`);
    this.#drawn = true;
  }

  done(current: number, extra = ''): void {
    if (!this.enabled) return;
    this.out.write(`\r${this.render(current, extra)}\n`);
    this.#drawn = false;
  }

  render(current: number, extra = ''): string {
    const seconds = Math.max((Date.now() - this.#started) / 1000, 1e-3);
    const fmt = (v: number) => (this.unit === 'bytes' ? `${(v / 1e6).toFixed(1)} MB` : String(v));
    const rate = this.unit === 'bytes' ? `${(current / 1e6 / seconds).toFixed(1)} MB/s` : `${(current / seconds).toFixed(1)}/s`;
    let bar = '';
    if (this.total !== undefined && this.total > 0) {
      const width = 30;
      const fraction = Math.min(1, current / this.total);
      const full = Math.round(fraction * width);
      bar = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${fmt(current)}/${fmt(this.total)}`;
    } else {
      bar = fmt(current);
    }
    return `${this.label} ${bar} ${rate}${extra ? ` ${extra}` : ''}`;
  }

  get drawn(): boolean {
    return this.#drawn;
  }
}
