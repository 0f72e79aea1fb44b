/**
 * Who may read `/metrics` (API and worker): a caller on the same machine (a Prometheus agent beside the
 * process), or one presenting `Authorization: Bearer <METRICS_TOKEN>`. Metrics name no person, but queue
 * depths and run counts are the organisation's business, and each scrape costs a few queries.
 */
export function metricsRequestAllowed(
  request: { remoteAddress: string | undefined; authorization: string | undefined },
  token: string | undefined,
): boolean {
  if (isLoopbackAddress(request.remoteAddress)) return true;
  if (!token || !request.authorization) return false;
  return constantTimeEqual(request.authorization, `Bearer ${token}`);
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address);
}

/** Compares without stopping at the first difference, so the time taken does not reveal the token. */
function constantTimeEqual(given: string, expected: string): boolean {
  let difference = given.length ^ expected.length;
  for (let index = 0; index < expected.length; index++) {
    difference |= (given.charCodeAt(index) || 0) ^ expected.charCodeAt(index);
  }
  return difference === 0;
}
