import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  counter(name: string, help: string, labelNames?: string[]): Counter<string>;
  gauge(name: string, help: string, labelNames?: string[]): Gauge<string>;
  histogram(name: string, help: string, labelNames?: string[], buckets?: number[]): Histogram<string>;
}

/** A registry whose metric names all start with `chainlake_<service>_`, default process metrics included. */
export function createMetrics(service: string): Metrics {
  const prefix = `chainlake_${service.replace(/[^a-zA-Z0-9_]/g, '_')}_`;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });

  // Asking twice for the same metric returns the first one instead of failing on a duplicate registration.
  function metric<M extends Metric<string>>(kind: new (...args: never[]) => M, name: string, create: (fullName: string) => M): M {
    const fullName = prefix + name;
    const existing = registry.getSingleMetric(fullName);
    if (existing === undefined) return create(fullName);
    if (!(existing instanceof kind)) throw new Error(`metric ${fullName} is already registered as another kind`);
    return existing;
  }

  return {
    registry,
    counter: (name, help, labelNames = []) =>
      metric(Counter, name, (fullName) => new Counter({ name: fullName, help, labelNames, registers: [registry] })),
    gauge: (name, help, labelNames = []) =>
      metric(Gauge, name, (fullName) => new Gauge({ name: fullName, help, labelNames, registers: [registry] })),
    histogram: (name, help, labelNames = [], buckets) =>
      metric(Histogram, name, (fullName) => new Histogram({ name: fullName, help, labelNames, buckets, registers: [registry] })),
  };
}
