/**
 * A batch's deadline: `flush` runs `ms` after the first `arm()` since the last flush or
 * `disarm()`. Unref'd, so a pending batch never keeps the process alive.
 */
export class FlushTimer {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ms: number,
    private readonly flush: () => void,
  ) {}

  arm(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.ms);
    this.timer.unref();
  }

  disarm(): void {
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
  }
}
