// Rolling timings for benchmarks and the perf readout (exponential moving averages, ms).
export type StatName = 'fetch' | 'decode' | 'cameraDraw' | 'sceneUpload' | 'sceneRender';

const values: Record<StatName, number> = { fetch: 0, decode: 0, cameraDraw: 0, sceneUpload: 0, sceneRender: 0 };

export function recordStat(name: StatName, ms: number): void {
  values[name] = values[name] === 0 ? ms : values[name] * 0.8 + ms * 0.2;
}

export function stats(): Record<StatName, number> {
  return { ...values };
}
