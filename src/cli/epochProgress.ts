/**
 * Training progress of `affinity eval` (and, off a TTY, `affinity precompute`) on stderr: on a TTY, one bar per fit (epochs, loss, the
 * validation metric of models that early-stop); elsewhere (logs, CI), one line per epoch of models
 * that report more than a loss (the neural models), nothing for the others.
 */
import cliProgress from 'cli-progress';
import type { EpochInfo } from '../models/types.js';

export class EpochProgress {
  private bar: cliProgress.SingleBar | null = null;
  private label = '';

  constructor(private readonly tty: boolean, private readonly write: (line: string) => void) {}

  /** A fit starts: `label` says which (e.g. 'sasrec fold 1/1'). */
  begin(label: string): void {
    this.end();
    this.label = label;
  }

  onEpoch = (epoch: number, loss: number, info?: EpochInfo): void => {
    const lossText = Number.isFinite(loss) ? loss.toPrecision(5) : String(loss);
    const metric = info?.metric !== undefined ? `${info.metricName ?? 'validation'} ${info.metric.toFixed(4)} (best epoch ${info.bestEpoch ?? epoch})` : '-';
    if (this.tty) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar({ stream: process.stderr, format: `${this.label} [{bar}] {value}/{total} epochs | loss {loss} | {metric}`, hideCursor: true, fps: 5 }, cliProgress.Presets.shades_classic);
        this.bar.start(info?.epochs ?? epoch, 0, { loss: '-', metric: '-' });
      }
      if (info?.epochs === undefined && epoch > this.bar.getTotal()) this.bar.setTotal(epoch);
      this.bar.update(epoch, { loss: lossText, metric });
    } else if (info) {
      this.write(`${this.label} epoch ${epoch}${info.epochs ? `/${info.epochs}` : ''}: loss ${lossText}${info.metric !== undefined ? `, ${metric}` : ''}${info.seconds !== undefined ? ` (${info.seconds.toFixed(1)} s)` : ''}\n`);
    }
  };

  end(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
