import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The API's Prometheus metrics: Node's own and the time each route takes, by status. */
export interface ApiMetrics {
  registry: Registry;
  request(method: string, route: string, status: number, seconds: number): void;
}

export function createApiMetrics(): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Histogram({
    name: 'provisioning_api_request_seconds',
    help: "Time the API took to answer, by method, matched route (never the request's own path) and status.",
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    registry,
    request: (method, route, status, seconds) =>
      requests.observe({ method, route, status: String(status) }, seconds),
  };
}
