/**
 * A backend in this process and an API client talking to it over the in-memory transport: what
 * tests and benches that drive the API without a server or a utility process start from.
 */
import type { ApiMethods } from '../../contract/api.ts';
import { RpcClient } from '../../contract/rpc.ts';
import { memoryTransportPair } from '../../contract/transports/memory.ts';
import { createBackendServer, SagaBackend } from '../backend.ts';

export function memoryBackend(userDataDir: string, options: { modelsDir?: string } = {}): { backend: SagaBackend; client: RpcClient<ApiMethods> } {
  const backend = new SagaBackend({ host: 'memory', userDataDir, ...options, blobUrl: (id) => `memory://blob/${id}` });
  const [c, s] = memoryTransportPair();
  createBackendServer(backend).attach(s);
  return { backend, client: new RpcClient<ApiMethods>(c) };
}
