import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadFile, extractZipMember, loadRegistry, ModelManager, parseRegistry, redirectTarget, type RegistryModel } from './models.ts';
import { SamPredictor } from './sam.ts';
import { tinySamDecoder, tinySamEncoder } from './testing/tiny-sam.ts';

/** A local model server: serves generated files, honours Range, and can drop connections. */
interface Served {
  body: Uint8Array;
  /** Drop the connection after this many body bytes for the next `dropTimes` requests. */
  dropAfter?: number;
  dropTimes?: number;
}
const files = new Map<string, Served>();
const requests: { path: string; range?: string }[] = [];
let server: Server;
let base: string;
let root: string;

function bytesOf(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'saga-models-'));
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ path, range: req.headers.range });
    if (path.startsWith('/redirect/')) {
      res.writeHead(302, { location: path.slice('/redirect'.length) });
      res.end();
      return;
    }
    const f = files.get(path);
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m) start = Number(m[1]);
    if (start >= f.body.length && m) {
      res.writeHead(416, { 'content-range': `bytes */${f.body.length}` }).end();
      return;
    }
    const chunk = f.body.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': String(chunk.length),
      ...(m ? { 'content-range': `bytes ${start}-${f.body.length - 1}/${f.body.length}` } : {}),
    });
    if (f.dropAfter !== undefined && (f.dropTimes ?? 0) > 0) {
      f.dropTimes!--;
      res.write(chunk.subarray(0, f.dropAfter), () => res.socket?.destroy());
      return;
    }
    res.end(chunk);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(root, { recursive: true, force: true });
});
beforeEach(() => {
  requests.length = 0;
});

describe('downloadFile', () => {
  it('resumes with an HTTP range request after the connection drops, and verifies the sha256', async () => {
    const body = bytesOf(3_000_000, 1);
    files.set('/a.onnx', { body, dropAfter: 1_000_000, dropTimes: 1 });
    const dest = join(root, 'dl1', 'a.onnx');
    const progress: number[] = [];
    const got = await downloadFile(`${base}/a.onnx`, dest, { expectedSha256: sha(body), onProgress: (p) => progress.push(p.done) });
    expect(got).toEqual({ sha256: sha(body), size: body.length });
    expect(sha(readFileSync(dest))).toBe(sha(body));
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(requests).toHaveLength(2);
    expect(requests[0]!.range).toBeUndefined();
    const resumedAt = Number(/bytes=(\d+)-/.exec(requests[1]!.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(1_000_000);
    expect(progress.at(-1)).toBe(body.length);
  });

  it('keeps the partial file when retries run out, and a later run resumes it', async () => {
    const body = bytesOf(2_000_000, 2);
    files.set('/b.onnx', { body, dropAfter: 700_000, dropTimes: 1 });
    const dest = join(root, 'dl2', 'b.onnx');
    await expect(downloadFile(`${base}/b.onnx`, dest, { retries: 0 })).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringMatching(/resume/) });
    const partial = statSync(`${dest}.part`).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(body.length);
    requests.length = 0;
    await downloadFile(`${base}/redirect/b.onnx`, dest, { expectedSha256: sha(body) });
    expect(requests.map((r) => r.range)).toEqual([`bytes=${partial}-`, `bytes=${partial}-`]); // redirect, then the file
    expect(sha(readFileSync(dest))).toBe(sha(body));
  });

  it('refuses a file whose sha256 does not match and deletes it', async () => {
    files.set('/c.onnx', { body: bytesOf(50_000, 3) });
    const dest = join(root, 'dl3', 'c.onnx');
    await expect(downloadFile(`${base}/c.onnx`, dest, { expectedSha256: sha(bytesOf(50_000, 4)) })).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
  });

  it('says which file the server refused', async () => {
    await expect(downloadFile(`${base}/missing.onnx`, join(root, 'dl4', 'm.onnx'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND', message: expect.stringMatching(/HTTP 404/) });
  });
});

function registryEntry(id: string, enc: { file: string; url: string | null; sha256: string | null }, dec: { file: string; url: string | null; sha256: string | null }, extra: Partial<RegistryModel> = {}): RegistryModel {
  return {
    id,
    name: id,
    family: 'sam',
    supported: true,
    encoder: { ...enc, sizeBytes: null },
    decoder: { ...dec, sizeBytes: null },
    input: { layout: 'nchw-normalized-padded', size: 1024, resize: 'longest-side', pixelMean: [123.675, 116.28, 103.53], pixelStd: [58.395, 57.12, 57.375], inputName: null, outputName: null, embedding: [256, 64, 64] },
    decoderSignature: 'segment-anything-onnx',
    ...extra,
  };
}

/** A zip with one stored and one deflated member (local headers + central directory). */
function makeZip(members: { name: string; data: Uint8Array; deflate: boolean }[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const m of members) {
    const name = new TextEncoder().encode(m.name);
    const body = m.deflate ? new Uint8Array(deflateRawSync(m.data)) : m.data;
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(8, m.deflate ? 8 : 0, true);
    local.setUint32(18, body.length, true);
    local.setUint32(22, m.data.length, true);
    local.setUint16(26, name.length, true);
    chunks.push(new Uint8Array(local.buffer), name, body);
    const c = new DataView(new ArrayBuffer(46));
    c.setUint32(0, 0x02014b50, true);
    c.setUint16(10, m.deflate ? 8 : 0, true);
    c.setUint32(20, body.length, true);
    c.setUint32(24, m.data.length, true);
    c.setUint16(28, name.length, true);
    c.setUint32(42, offset, true);
    central.push(new Uint8Array(c.buffer), name);
    offset += 30 + name.length + body.length;
  }
  const cdSize = central.reduce((s, c) => s + c.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, members.length, true);
  end.setUint16(10, members.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  const all = [...chunks, ...central, new Uint8Array(end.buffer)];
  const out = new Uint8Array(all.reduce((s, c) => s + c.length, 0));
  let p = 0;
  for (const c of all) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

describe('ModelManager', () => {
  it('installs a registry model, records a sha256 where the registry has none, and loads it', async () => {
    const enc = tinySamEncoder();
    const dec = tinySamDecoder();
    files.set('/tiny/enc.onnx', { body: enc });
    files.set('/tiny/dec.onnx', { body: dec });
    const registry = [registryEntry('tiny', { file: 'tiny.encoder.onnx', url: `${base}/tiny/enc.onnx`, sha256: null }, { file: 'tiny.decoder.onnx', url: `${base}/tiny/dec.onnx`, sha256: sha(dec) })];
    const modelsDir = join(root, 'models1');
    const mm = new ModelManager({ modelsDir, registry });
    expect(() => mm.resolve('tiny')).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
    const progress: string[] = [];
    const modelFiles = await mm.install('tiny', { onProgress: (p) => progress.push(p.file) });
    expect(progress).toContain('tiny.encoder.onnx');
    const recorded = JSON.parse(readFileSync(join(modelsDir, 'checksums.json'), 'utf8')) as Record<string, { sha256: string }>;
    expect(recorded['tiny/tiny.encoder.onnx']!.sha256).toBe(sha(enc));
    expect(recorded['tiny/tiny.decoder.onnx']).toBeUndefined(); // the registry's sha256 is authoritative
    const predictor = await SamPredictor.load(modelFiles, { threads: 1 });
    await predictor.close();
    await mm.verify('tiny');

    // A truncated file is caught by the recorded size without hashing.
    writeFileSync(modelFiles.encoderPath, enc.subarray(0, 100));
    expect(() => mm.resolve('tiny')).toThrow(expect.objectContaining({ code: 'MODEL_INVALID' }));

    // The server now serves a different encoder: refused against the recorded sha256.
    rmSync(modelFiles.encoderPath);
    files.set('/tiny/enc.onnx', { body: bytesOf(enc.length, 9) });
    await expect(mm.install('tiny')).rejects.toMatchObject({ code: 'MODEL_INVALID', message: expect.stringMatching(/first download/) });
    expect(existsSync(modelFiles.encoderPath)).toBe(false);
  });

  it('installs a model shipped as a zip archive', async () => {
    const enc = tinySamEncoder('input_image');
    const dec = tinySamDecoder();
    const zip = makeZip([
      { name: 'm/tiny.encoder.onnx', data: enc, deflate: true },
      { name: 'm/tiny.decoder.onnx', data: dec, deflate: false },
    ]);
    expect(Array.from(extractZipMember(zip, 'tiny.encoder.onnx'))).toEqual(Array.from(enc));
    files.set('/tiny.zip', { body: zip });
    const registry = [
      registryEntry('zipped', { file: 'tiny.encoder.onnx', url: null, sha256: sha(enc) }, { file: 'tiny.decoder.onnx', url: null, sha256: null }, {
        archive: { format: 'zip', file: 'tiny.zip', url: `${base}/tiny.zip`, sizeBytes: zip.length, sha256: sha(zip) },
      }),
    ];
    const mm = new ModelManager({ modelsDir: join(root, 'models2'), registry });
    const f = await mm.install('zipped');
    expect(sha(readFileSync(f.encoderPath))).toBe(sha(enc));
    expect(existsSync(join(root, 'models2', 'zipped', 'tiny.zip'))).toBe(false);
    expect(mm.list()).toEqual([{ model: registry[0], installed: true }]);
  });

  it('takes a local folder with an encoder and a decoder, and explains what is wrong otherwise', async () => {
    const mm = new ModelManager({ modelsDir: join(root, 'models3'), registry: [] });
    const dir = join(root, 'local-model');
    mkdirSync(dir, { recursive: true });
    expect(() => mm.resolve(dir)).toThrow(/exactly one \*encoder\*\.onnx/);
    writeFileSync(join(dir, 'my.encoder.onnx'), tinySamEncoder());
    writeFileSync(join(dir, 'my.decoder.onnx'), tinySamDecoder());
    const f = mm.resolve(dir);
    const p = await SamPredictor.load(f, { threads: 1 });
    await p.close();
    expect(() => mm.resolve(join(root, 'nope'))).toThrow(expect.objectContaining({ code: 'MODEL_NOT_FOUND' }));
    expect(() => mm.resolve(join(dir, 'my.encoder.onnx'))).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT' }));
  });
});

describe('parseRegistry', () => {
  const good = () => JSON.parse(JSON.stringify({ version: 1, models: loadRegistry() })) as { models: Record<string, unknown>[] };
  const refused = (mutate: (r: { models: Record<string, unknown>[] }) => void, field: string) => {
    const r = good();
    mutate(r);
    expect(() => parseRegistry(r, 'test.json'), field).toThrow(expect.objectContaining({ code: 'MODEL_INVALID', details: { source: 'test.json', field }, message: expect.stringContaining(`${field} must be`) }));
  };

  it('accepts the shipped registry and refuses each malformed field by name', () => {
    expect(parseRegistry(good(), 'test.json').map((m) => m.id)).toEqual(loadRegistry().map((m) => m.id));
    refused((r) => delete (r as Partial<typeof r>).models, 'models');
    refused((r) => (r.models[0]!.id = '../../outside'), 'models[0].id');
    refused((r) => (r.models[1]!.id = r.models[0]!.id), 'models[1].id');
    refused((r) => ((r.models[0]!.encoder as Record<string, unknown>).file = '../x.onnx'), 'models[0].encoder.file');
    refused((r) => ((r.models[0]!.decoder as Record<string, unknown>).sha256 = 'abc'), 'models[0].decoder.sha256');
    refused((r) => ((r.models[0]!.decoder as Record<string, unknown>).url = 'file:///etc/passwd'), 'models[0].decoder.url');
    refused((r) => ((r.models[0]!.encoder as Record<string, unknown>).sizeBytes = -5), 'models[0].encoder.sizeBytes');
    refused((r) => (r.models[0]!.supported = 'yes'), 'models[0].supported');
    refused((r) => ((r.models[0]!.input as Record<string, unknown>).pixelMean = [1, 2]), 'models[0].input.pixelMean');
    refused((r) => ((r.models[0]!.input as Record<string, unknown>).layout = 'nhwc'), 'models[0].input.layout');
    refused((r) => (r.models[2] = null as unknown as Record<string, unknown>), 'models[2]');
  });

  it('says a registry file that is not JSON cannot be read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saga-registry-'));
    try {
      writeFileSync(join(dir, 'bad.json'), '{ "models": [');
      expect(() => loadRegistry(join(dir, 'bad.json'))).toThrow(expect.objectContaining({ code: 'FILE_UNREADABLE' }));
      writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ models: [{ id: 'x' }] }));
      expect(() => loadRegistry(join(dir, 'wrong.json'))).toThrow(expect.objectContaining({ code: 'MODEL_INVALID', message: expect.stringContaining('models[0].name') }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('resources/models.json', () => {
  it('lists SAM ViT-B/L/H, MobileSAM and documents each entry', () => {
    const reg = loadRegistry();
    const ids = reg.map((m) => m.id);
    for (const id of ['sam_vit_b_quantized', 'sam_vit_l_quantized', 'sam_vit_h_quantized', 'mobile_sam']) expect(ids).toContain(id);
    for (const m of reg) {
      for (const f of [m.encoder, m.decoder, ...(m.archive ? [m.archive] : [])]) {
        expect(f.sha256 === null || /^[0-9a-f]{64}$/.test(f.sha256), `${m.id} ${f.file}`).toBe(true);
        expect(f.url === null || f.url.startsWith('https://'), `${m.id} ${f.file}`).toBe(true);
      }
      if (m.supported) {
        expect(m.input, m.id).not.toBeNull();
        expect(m.input!.size).toBe(1024);
        expect(m.decoderSignature).toBe('segment-anything-onnx');
        expect(m.archive?.url ?? (m.encoder.url && m.decoder.url)).toBeTruthy();
      }
    }
  });
});

describe('download redirects', () => {
  it('follows relative and same-scheme redirects but never from https down to http', () => {
    expect(redirectTarget(new URL('https://a.example/m.onnx'), '/b/m.onnx').href).toBe('https://a.example/b/m.onnx');
    expect(redirectTarget(new URL('http://127.0.0.1:9/m'), 'http://127.0.0.1:9/n').href).toBe('http://127.0.0.1:9/n');
    expect(() => redirectTarget(new URL('https://a.example/m.onnx'), 'http://mirror.example/m.onnx')).toThrow(/insecure address/);
  });
});
