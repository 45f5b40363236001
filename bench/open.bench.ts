/**
 * Measures the backend's share of opening a scene in browser mode: the 'scene.open' request over
 * the WebSocket (read + re-encode for the viewer), then fetching the viewer bytes over HTTP, and
 * creating / reopening a project from the same file. The renderer's share (parse + first frame) is
 * the ttff bench's job.
 *
 *   npm run bench -- open [scene] [runs]      (default: the shared guitar scene, 3 runs)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { SCENES, sharedScene } from '../e2e/fixtures.ts';
import type { ApiMethods } from '../main/contract/api.ts';
import { RpcClient } from '../main/contract/rpc.ts';
import { browserModeSocketUrl, connectWebSocket, type WebSocketConstructor } from '../main/contract/transports/websocket.ts';
import { startServer } from '../main/host/server/server.ts';

export interface OpenTiming {
  count: number;
  viewerBytes: number;
  /** Median milliseconds per stage. */
  sceneOpenMs: number;
  fetchMs: number;
  projectCreateMs: number;
  projectOpenMs: number;
  /** Median round trip of a small request ('app.info') over the WebSocket. */
  rpcRoundTripMs: number;
  peakRssMb: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function measureOpen(scenePath: string, runs = 3): Promise<OpenTiming> {
  const work = mkdtempSync(join(tmpdir(), 'saga-measure-'));
  const server = await startServer({ rendererDir: work, userDataDir: join(work, 'user-data') });
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
  try {
    const transport = await connectWebSocket(browserModeSocketUrl(server.url), WebSocket as unknown as WebSocketConstructor);
    const client = new RpcClient<ApiMethods>(transport);
    const open: number[] = [];
    const fetched: number[] = [];
    const created: number[] = [];
    const reopened: number[] = [];
    let count = 0;
    let viewerBytes = 0;
    for (let run = 0; run < runs; run++) {
      let t = performance.now();
      const opened = await client.call('scene.open', { path: scenePath });
      open.push(performance.now() - t);
      t = performance.now();
      const bytes = await (await fetch(new URL(opened.url, server.url))).arrayBuffer();
      fetched.push(performance.now() - t);
      count = opened.summary.count;
      viewerBytes = bytes.byteLength;

      const dir = join(work, `project-${run}`);
      t = performance.now();
      await client.call('project.create', { dir, source: scenePath });
      created.push(performance.now() - t);
      await client.call('project.close', {});
      t = performance.now();
      await client.call('project.open', { dir });
      reopened.push(performance.now() - t);
      await client.call('project.close', {});
    }
    const trips: number[] = [];
    for (let i = 0; i < 500; i++) {
      const t = performance.now();
      await client.call('app.info', {});
      trips.push(performance.now() - t);
    }
    client.close();
    return {
      rpcRoundTripMs: median(trips),
      count,
      viewerBytes,
      sceneOpenMs: median(open),
      fetchMs: median(fetched),
      projectCreateMs: median(created),
      projectOpenMs: median(reopened),
      peakRssMb: Math.round(peak / (1024 * 1024)),
    };
  } finally {
    clearInterval(sampler);
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const [given, runs] = args;
  const path = given ?? sharedScene(SCENES.guitar);
  const n = runs ? Number(runs) : 3;
  const t = await measureOpen(path, n);
  console.log(
    `${path}: ${t.count} splats; scene.open ${t.sceneOpenMs.toFixed(0)} ms, viewer bytes ${(t.viewerBytes / 1e6).toFixed(1)} MB fetched in ${t.fetchMs.toFixed(0)} ms; ` +
      `project.create ${t.projectCreateMs.toFixed(0)} ms, project.open ${t.projectOpenMs.toFixed(0)} ms; RPC round trip ${t.rpcRoundTripMs.toFixed(3)} ms; peak RSS ${t.peakRssMb} MB (medians of ${n})`,
  );
}
