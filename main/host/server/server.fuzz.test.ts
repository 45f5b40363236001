/**
 * The browser-mode server as a real `saga-studio serve` process under malformed traffic: the two
 * single requests that used to end it, then a seeded storm of at least 2,000 malformed HTTP
 * requests and WebSocket frames (bad JSON, wrong types, huge and negative numbers, binary junk,
 * broken framing, half-closed and reset sockets, slow clients). After each part the process must
 * still run and answer a good request.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../e2e/fixtures.ts';
import { API_METHOD_NAMES, type ApiMethods } from '../../contract/api.ts';
import { mulberry32 } from '../../common/random.ts';
import { RpcClient } from '../../contract/rpc.ts';
import { MAX_FRAME_BYTES } from '../../contract/transport.ts';
import { browserModeSocketUrl, connectWebSocket, type WebSocketConstructor } from '../../contract/transports/websocket.ts';
import { OPCODE, openRawWebSocket, openSocket, rawExchange, readUntilClosed, upgradeRequest, wsClose, wsFrame } from './testing/raw-client.ts';

const root = mkdtempSync(join(tmpdir(), 'saga-serve-fuzz-'));
let child: ChildProcessWithoutNullStreams;
let stderr = '';
let pageUrl = '';
let port = 0;
let token = '';

beforeAll(async () => {
  const rendererDir = join(root, 'renderer');
  mkdirSync(rendererDir, { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>SAGA Studio</title>');
  // cwd is a scratch folder: a fuzzed path that happened to be valid could only touch it.
  child = spawn(process.execPath, [resolve(PROJECT_ROOT, 'main/host/bin.mjs'), 'serve', '--renderer', rendererDir, '--user-data', join(root, 'user-data')], { cwd: root });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  pageUrl = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /SAGA Studio: (http:\/\/127\.0\.0\.1:\d+\/[\w-]+\/)\n/.exec(out);
      if (m) resolveUrl(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}${stderr}`)));
  });
  const url = new URL(pageUrl);
  port = Number(url.port);
  token = url.pathname.split('/')[1]!;
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(root, { recursive: true, force: true });
});

const Ws = WebSocket as unknown as WebSocketConstructor;

/** The process still runs, serves the page and answers an API call. */
async function expectAlive(): Promise<void> {
  expect(child.exitCode, `serve exited; its stderr:\n${stderr}`).toBeNull();
  expect((await fetch(pageUrl)).status).toBe(200);
  const client = new RpcClient<ApiMethods>(await connectWebSocket(browserModeSocketUrl(pageUrl), Ws));
  expect((await client.call('app.info', {})).host).toBe('browser');
  client.close();
}

/** Writes `bytes` on a fresh API WebSocket, then waits for the server to answer or close. */
async function wsExchange(bytes: Buffer, options: { reset?: boolean; waitMs?: number } = {}): Promise<Buffer> {
  const socket = await openRawWebSocket(port, `/${token}/rpc`);
  const answer = readUntilClosed(socket, options.waitMs ?? 150);
  socket.resume();
  socket.write(bytes);
  if (options.reset) socket.resetAndDestroy();
  return answer;
}

describe('saga-studio serve under malformed traffic', () => {
  it('survives a malformed token cookie (it used to end the process with a URIError)', async () => {
    const cookie = { Cookie: `saga_token_${port}=%E0%A4%A; other=%` };
    const upgrade = await rawExchange(port, upgradeRequest(`/${token}/rpc`, port, cookie), { waitMs: 300 });
    expect(upgrade).toBe(101);
    expect(await rawExchange(port, upgradeRequest('/rpc', port, cookie))).toBe(401);
    const page = await fetch(pageUrl, { headers: cookie });
    expect(page.status).toBe(200);
    await expectAlive();
  });

  it('survives requests followed at once by a close frame, in one packet (it used to end the process)', async () => {
    const requests = [
      { type: 'request', id: 1, method: 'app.info', params: {} },
      { type: 'request', id: 2, method: 'project.recent', params: {} },
      { type: 'request', id: 3, method: 'blob.get', params: { id: 'missing' } },
      { type: 'request', id: 4, method: 'scene.open', params: { path: join(root, 'missing.ply') } },
      { type: 'request', id: 5, method: 'no.such.method', params: {} },
    ];
    for (let round = 0; round < 10; round++) {
      for (const request of requests) {
        await wsExchange(Buffer.concat([wsFrame(OPCODE.text, JSON.stringify(request)), wsClose(1000)]));
      }
    }
    await expectAlive();
  });

  it('refuses a frame over the size limit with a clear close, before buffering it', async () => {
    const answer = await wsExchange(wsFrame(OPCODE.text, 'x'.repeat(64), { declaredLength: BigInt(MAX_FRAME_BYTES + 1) }), { waitMs: 2000 });
    // A close frame (opcode 8) with status 1009, "message too big".
    expect(answer[0]! & 0x0f).toBe(OPCODE.close);
    expect(answer.readUInt16BE(2)).toBe(1009);
    await expectAlive();
  });

  it('answers a good request after 2,000+ malformed HTTP requests and WebSocket frames', async () => {
    const random = mulberry32(14);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const junk = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
    const numbers = [-1, 0, -0, 1e308, -1e308, 2 ** 53, -(2 ** 63), 4294967296, 1.5, Number.MAX_SAFE_INTEGER];
    const values = (): unknown => pick([
      null, true, 'x', '', '\u0000', 'a'.repeat(5000), pick(numbers), [], [pick(numbers)], {}, { path: pick(numbers) },
      { path: ['/'] }, { dir: { nested: [1, 2, 3] } }, { jobId: pick(numbers) }, { id: pick(numbers) }, { masks: null, force: 'yes' },
      { kind: 'nonsense' }, { extra: 'field', path: join(root, 'nope.ply') },
    ]);
    const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

    // Each case is one connection; `frames` counts every malformed message or request sent.
    let malformed = 0;
    const httpCases: (() => Promise<unknown>)[] = [
      () => rawExchange(port, junk(1 + Math.floor(random() * 400))),
      () => rawExchange(port, `${pick(['GET', 'POST', 'PUT', 'DELETE', 'BREW', 'G\u0000T'])} ${pick(['/', `/${token}/`, '//evil/x', '*', 'http://x/', `/${token}/%`, `/${token}/blob/..%2f`, '/\u00ff'])} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
      () => rawExchange(port, `GET /${token}/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
      () => rawExchange(port, `GET /${token}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`),
      () => rawExchange(port, `POST /${token}/upload?name=x.ply HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${pick(['-1', '1e99', '99999999999999999999', 'abc', '5, 6'])}\r\n\r\nply\n`),
      () => rawExchange(port, `POST /${token}/upload?name=${pick(['', '..', '%00', '.', '/', '%E0%A4%A'])} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nply`),
      () => rawExchange(port, `POST /${token}/upload?name=c.ply HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${pick(['zz', 'fffffffffffffffff', '-5', '3\r\nabcdef'])}\r\n`),
      // Half-closed: the client says it will send nothing more, mid-body or mid-headers.
      () => rawExchange(port, `POST /${token}/upload?name=h.ply HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nply\n`, { halfClose: true }),
      () => rawExchange(port, `GET /${token}/ HTTP/1.1\r\nHost: 12`, { halfClose: true }),
      // Reset in the middle of a request.
      async () => {
        const socket = await openSocket(port);
        socket.write(`POST /${token}/upload?name=r.ply HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n`);
        socket.write(junk(500));
        socket.resetAndDestroy();
      },
      () => rawExchange(port, upgradeRequest(`/${token}/rpc`, port, { 'Sec-WebSocket-Version': pick(['8', '99', 'x']) })),
      () => rawExchange(port, upgradeRequest(`/${token}/${pick(['rpc/', 'RPC', 'blob/x', ''])}`, port)),
    ];
    const wsCases: (() => Promise<unknown>)[] = [
      () => wsExchange(wsFrame(OPCODE.text, junk(1 + Math.floor(random() * 200)).toString('latin1'))),
      () => wsExchange(wsFrame(OPCODE.text, pick(['{', 'null', '[]', '"request"', '{"type":"request"}', deep(10_000), '{"type":"job","event":{}}', '{"type":"response","id":1,"ok":true}']))),
      () => wsExchange(wsFrame(OPCODE.text, JSON.stringify({ type: 'request', id: pick([...numbers, 'one', null, [], {}]), method: pick([...API_METHOD_NAMES, 'job.cancel', '__proto__', 'constructor', 'toString', '', 42]), params: values() }))),
      () => wsExchange(wsFrame(OPCODE.binary, junk(1 + Math.floor(random() * 300)))),
      // Binary RPC frames ('SAGM', JSON length, JSON, attachments) with lying lengths, offsets and types.
      () => {
        const json = Buffer.from(pick([
          '{"type":"request","id":1,"method":"blob.get","params":{"id":{"$saga:bin":[0,"Float32Array",16,1000000]}}}',
          '{"type":"request","id":2,"method":"scene.open","params":{"path":{"$saga:bin":[0,"BigInt64Array",8,1]}}}',
          '{"type":"request","id":3,"method":"app.info","params":{"$saga:bin":[5,"Uint8Array",-8,-1]}}',
          '{"type":"request","id":4,"method":"app.info","params":{"$saga:bin":"x"}}',
          '{"type":',
        ]));
        const head = Buffer.alloc(8);
        head.writeUInt32LE(0x4d474153, 0);
        head.writeUInt32LE(pick([json.length, json.length + 1000, 0xffffffff, 3]), 4);
        return wsExchange(wsFrame(OPCODE.binary, Buffer.concat([head, json, junk(Math.floor(random() * 64))])));
      },
      // Invalid UTF-8 in a text frame, reserved bits, reserved opcodes, unmasked client frames.
      () => wsExchange(wsFrame(OPCODE.text, Buffer.from([0xc3, 0x28, 0xff, 0xfe]))),
      () => wsExchange(wsFrame(OPCODE.text, '{}', { rsv: 1 + Math.floor(random() * 7) })),
      () => wsExchange(wsFrame(pick([3, 4, 5, 6, 7, 11, 12, 15]), junk(10))),
      () => wsExchange(wsFrame(OPCODE.text, '{"type":"request","id":1,"method":"app.info","params":{}}', { masked: false })),
      // Fragmentation that breaks the rules: a continuation with nothing to continue, an interleaved text frame.
      () => wsExchange(wsFrame(OPCODE.continuation, 'tail')),
      () => wsExchange(Buffer.concat([wsFrame(OPCODE.text, '{"type":', { fin: false }), wsFrame(OPCODE.text, '"x"}')])),
      // Control frames: too long a ping, a close with a reserved code, a close with a one-byte body.
      () => wsExchange(wsFrame(OPCODE.ping, junk(200))),
      () => wsExchange(wsClose(pick([0, 999, 1004, 1005, 1006, 2999, 5000]))),
      () => wsExchange(wsFrame(OPCODE.close, Buffer.from([3]))),
      // Lengths the frame does not hold, or that no server should buffer.
      () => wsExchange(wsFrame(OPCODE.binary, junk(16), { declaredLength: pick([2n ** 63n - 1n, 2n ** 64n - 1n, BigInt(MAX_FRAME_BYTES) * 4n]) })),
      () => wsExchange(wsFrame(OPCODE.text, '{"type":"request"', { declaredLength: 4000n })),
      // A burst of requests, then a reset before any answer is read.
      () => wsExchange(Buffer.concat(Array.from({ length: 20 }, (_, i) => wsFrame(OPCODE.text, JSON.stringify({ type: 'request', id: i, method: pick(API_METHOD_NAMES), params: values() })))), { reset: true }),
    ];

    // Slow clients: they dribble a request a byte at a time through the whole storm; the server
    // must keep answering everyone else meanwhile.
    const slow: Socket[] = [];
    const dribbles: ReturnType<typeof setInterval>[] = [];
    for (let i = 0; i < 4; i++) {
      const socket = await openSocket(port);
      socket.on('error', () => socket.destroy());
      const text = i % 2 ? `GET /${token}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'s'.repeat(400)}\r\n\r\n` : upgradeRequest(`/${token}/rpc`, port);
      let at = 0;
      dribbles.push(setInterval(() => {
        if (at < text.length && !socket.destroyed) socket.write(text[at++]!);
      }, 20));
      slow.push(socket);
    }

    const started = Date.now();
    const CASES = 1500;
    const CONCURRENCY = 8;
    let next = 0;
    const worker = async () => {
      while (next < CASES) {
        const i = next++;
        const http = i % 3 === 0;
        const run = http ? pick(httpCases) : pick(wsCases);
        await run();
        // The burst case carries 20 requests; every other case one malformed message or request.
        malformed += run === wsCases[wsCases.length - 1] ? 20 : 1;
        if (i % 250 === 0) expect(child.exitCode, `serve exited during the storm; its stderr:\n${stderr.slice(-4000)}`).toBeNull();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // A good request is answered while the slow clients are still dribbling.
    await expectAlive();
    for (const t of dribbles) clearInterval(t);
    for (const s of slow) s.destroy();

    expect(malformed).toBeGreaterThanOrEqual(2000);
    console.log(`fuzz: ${malformed} malformed requests and frames over ${CASES} connections in ${Date.now() - started} ms`);
    await expectAlive();
    expect(stderr).not.toMatch(/Uncaught|UnhandledPromiseRejection|triggerUncaughtException/);
  }, 300_000);
});
