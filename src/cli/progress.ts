// A terminal progress bar: redraws in place on a TTY, prints sparse lines otherwise (CI logs).
export interface ProgressBar {
  update(done: number, total: number, detail?: string): void;
  finish(message?: string): void;
}

export function createProgressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const started = Date.now();
  let lastLine = 0;
  let lastPercent = -1;
  return {
    update(done, total, detail) {
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const elapsed = (Date.now() - started) / 1000;
      const rate = elapsed > 0 ? done / elapsed : 0;
      const eta = rate > 0 ? (total - done) / rate : 0;
      const stats = `${done}/${total} ${rate.toFixed(1)}/s ETA ${eta.toFixed(0)}s${detail ? ` ${detail}` : ''}`;
      if (stream.isTTY) {
        const now = Date.now();
        if (now - lastLine < 80 && done < total) return;
        lastLine = now;
        const width = 30;
        const filled = Math.round(fraction * width);
        stream.write(`\r${label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${stats}\x1b[K`);
      } else {
        const percent = Math.floor(fraction * 10) * 10;
        if (percent === lastPercent) return;
        lastPercent = percent;
        stream.write(`${label}: ${percent}% ${stats}\n`);
      }
    },
    finish(message) {
      if (stream.isTTY) stream.write('\r\x1b[K');
      if (message) stream.write(`${message}\n`);
    },
  };
}
