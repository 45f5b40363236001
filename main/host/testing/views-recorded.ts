/**
 * For tests that check the multi-view check through the API: the host records a project's prepared
 * views in a worker, and a prompt waits for that at most a few seconds (segment-service.ts). Under a
 * loaded test run the first prompts may come before it; this repeats a prompt until one has run the
 * check, so later assertions see it.
 */
import type { ApiMethods } from '../../contract/api.ts';
import type { RpcClient } from '../../contract/rpc.ts';

export async function whenViewsRecorded(client: RpcClient<ApiMethods>, params: ApiMethods['segment.prompt']['params'], ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const out = await client.call('segment.prompt', params);
    if (out.timings.views !== undefined) return;
    if (Date.now() > end) throw new Error('The prepared views were not recorded in time: no prompt ran the multi-view check.');
  }
}
