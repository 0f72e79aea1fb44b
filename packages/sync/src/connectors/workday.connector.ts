import type { WorkdayRaasSettings, WorkdaySettings, WorkdaySoapSettings } from '@provisioning/shared';
import { parseAllowList } from './host-guard.ts';
import { guardedAgents } from './http-request.ts';
import type { ConnectorTable } from './source.ts';
import { loadReport } from './workday-report.ts';
import type { WorkdayCall, WorkdayLoadOptions } from './workday-requests.ts';
import { loadWorkers } from './workday-soap.ts';

/**
 * Workday, read two ways. A custom report (RaaS, the default; workday-report.ts), or the Human_Resources
 * SOAP service's Get_Workers, page by page (workday-soap.ts). Either way inactive workers are left out,
 * so the plan deactivates them (the threshold guard still applies), and `origin` says how many.
 */

/** Loads the configured Workday source: the custom report (RaaS) or Get_Workers (SOAP). */
export async function loadWorkdaySource(
  settings: WorkdaySettings,
  options: WorkdayLoadOptions = {},
): Promise<ConnectorTable> {
  const agents = guardedAgents(options.allowList ?? parseAllowList(undefined));
  const call: WorkdayCall = { settings, agents, options, bytes: { total: 0 } };
  try {
    return settings.mode === 'soap'
      ? await loadWorkers(call as WorkdayCall & { settings: WorkdaySoapSettings })
      : await loadReport(call as WorkdayCall & { settings: WorkdayRaasSettings });
  } finally {
    // Everything is read before the table is handed out: no connection is needed after this.
    agents.destroy();
  }
}
