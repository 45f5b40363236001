/**
 * SAM model registry and manager. The registry (resources/models.json) lists known SAM-family ONNX
 * exports with URLs, sizes, sha256 and input conventions. The manager keeps models in a user-data
 * folder passed in (never inside the app), downloads them with progress and HTTP range resume, and
 * verifies them:
 * - where the registry has a sha256, the download must match it;
 * - where it has none, the sha256 is recorded in <modelsDir>/checksums.json at first download
 *   (trust on first use) and a later download or install with a different sha256 is refused.
 * A local file pair can be used instead (`--model <folder>` holding an encoder and a decoder .onnx).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import type { JobProgress } from '../../contract/api.ts';
import { SagaError } from '../../contract/errors.ts';
import bundledRegistry from '../../../resources/models.json' with { type: 'json' };
import { SAM_DEFAULT_CONVENTION, type EncoderConvention, type SamModelFiles } from './sam.ts';
import { writeFileAtomicSync } from '../../common/atomic-write.ts';

export interface RegistryFile {
  file: string;
  url: string | null;
  sizeBytes: number | null;
  sha256: string | null;
}

export interface RegistryModel {
  id: string;
  name: string;
  family: string;
  supported: boolean;
  recommended?: boolean;
  params?: string;
  license?: string;
  source?: string;
  caveat?: string;
  /** When set, encoder and decoder come out of this archive (their url is null). */
  archive?: RegistryFile & { format: 'zip' };
  encoder: RegistryFile;
  decoder: RegistryFile;
  input: (Omit<EncoderConvention, 'inputName' | 'outputName'> & { resize: string; inputName: string | null; outputName: string | null; embedding: number[] }) | null;
  decoderSignature: string;
}

/**
 * The registry shipped with the app, imported rather than read by path so that it is part of every
 * bundle (the Electron build moves this module to out/main, where a relative path would miss it).
 * Either way it is checked field by field (parseRegistry): ids and file names become paths under
 * the models folder and URLs are fetched, so nothing in it is taken on trust.
 */
export function loadRegistry(path?: string): RegistryModel[] {
  if (path === undefined) return parseRegistry(bundledRegistry, 'resources/models.json');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new SagaError('FILE_UNREADABLE', `The model registry ${path} cannot be read (${e instanceof Error ? e.message : String(e)}). Reinstall SAGA Studio.`, { path }, { cause: e });
  }
  return parseRegistry(json, path);
}

/** A registry field that is not what the app needs: which one, and what it should be. */
function badRegistry(source: string, field: string, expected: string): SagaError {
  return new SagaError('MODEL_INVALID', `The model registry ${source} is malformed: ${field} must be ${expected}. Reinstall SAGA Studio (or fix the file you passed).`, { source, field });
}

type Fields = Record<string, unknown>;

/** Checks `value` is a registry (version, models[]) and returns its models, typed. */
export function parseRegistry(value: unknown, source: string): RegistryModel[] {
  const object = (v: unknown, field: string): Fields => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRegistry(source, field, 'an object');
    return v as Fields;
  };
  const string = (o: Fields, key: string, field: string, pattern?: RegExp, what = 'a non-empty string'): string => {
    const v = o[key];
    if (typeof v !== 'string' || v === '' || (pattern && !pattern.test(v))) throw badRegistry(source, `${field}.${key}`, what);
    return v;
  };
  const optionalString = (o: Fields, key: string, field: string): void => {
    if (o[key] !== undefined) string(o, key, field);
  };
  const boolean = (o: Fields, key: string, field: string, optional = false): void => {
    if (optional && o[key] === undefined) return;
    if (typeof o[key] !== 'boolean') throw badRegistry(source, `${field}.${key}`, 'true or false');
  };
  const numbers = (o: Fields, key: string, field: string, length?: number): void => {
    const v = o[key];
    if (!Array.isArray(v) || (length !== undefined && v.length !== length) || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x > 0)) {
      throw badRegistry(source, `${field}.${key}`, length === undefined ? 'a list of positive numbers' : `a list of ${length} positive numbers`);
    }
  };
  const file = (o: Fields, key: string, field: string): void => {
    const f = object(o[key], `${field}.${key}`);
    const at = `${field}.${key}`;
    // A file name, never a path: it is joined to the model's folder.
    string(f, 'file', at, /^(?!\.\.?$)[\w.+-]+$/, 'a plain file name (no folders)');
    if (f.url !== null) string(f, 'url', at, /^https?:\/\/\S+$/, 'an http(s) URL or null');
    if (f.sizeBytes !== null && !(Number.isSafeInteger(f.sizeBytes) && (f.sizeBytes as number) > 0)) throw badRegistry(source, `${at}.sizeBytes`, 'a positive whole number or null');
    if (f.sha256 !== null) string(f, 'sha256', at, /^[0-9a-f]{64}$/, 'a sha256 (64 lowercase hex digits) or null');
  };
  const root = object(value, 'the file');
  if (!Array.isArray(root.models)) throw badRegistry(source, 'models', 'a list');
  const ids = new Set<string>();
  root.models.forEach((entry, i) => {
    const at = `models[${i}]`;
    const m = object(entry, at);
    // The id names the model's folder: no separators, no '..'.
    const id = string(m, 'id', at, /^(?!\.\.?$)[\w.-]+$/, 'an id of letters, digits, ".", "_" and "-"');
    if (ids.has(id)) throw badRegistry(source, `${at}.id`, `unique ('${id}' appears twice)`);
    ids.add(id);
    string(m, 'name', at);
    string(m, 'family', at);
    boolean(m, 'supported', at);
    boolean(m, 'recommended', at, true);
    for (const key of ['params', 'license', 'source', 'caveat']) optionalString(m, key, at);
    file(m, 'encoder', at);
    file(m, 'decoder', at);
    if (m.archive !== undefined) {
      file(m, 'archive', at);
      if ((m.archive as Fields).format !== 'zip') throw badRegistry(source, `${at}.archive.format`, "'zip'");
    }
    if (m.input !== null) {
      const input = object(m.input, `${at}.input`);
      string(input, 'layout', `${at}.input`, /^(nchw-normalized-padded|hwc-resized-raw)$/, "'nchw-normalized-padded' or 'hwc-resized-raw'");
      if (!Number.isSafeInteger(input.size) || (input.size as number) <= 0) throw badRegistry(source, `${at}.input.size`, 'a positive whole number');
      string(input, 'resize', `${at}.input`);
      numbers(input, 'pixelMean', `${at}.input`, 3);
      numbers(input, 'pixelStd', `${at}.input`, 3);
      numbers(input, 'embedding', `${at}.input`, 3);
      for (const key of ['inputName', 'outputName']) if (input[key] !== null) string(input, key, `${at}.input`, undefined, 'a non-empty string or null');
    }
    string(m, 'decoderSignature', at);
  });
  return root.models as RegistryModel[];
}

export interface DownloadProgress extends JobProgress {
  stage: 'download';
  file: string;
}

export interface DownloadOptions {
  expectedSha256?: string | null;
  expectedSize?: number | null;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  /** Automatic resumes after a dropped connection (default 3). */
  retries?: number;
  /** Where expectedSha256 comes from, for the error message. */
  checksumSource?: 'registry' | 'recorded';
  /** Cumulative offset/total when one progress bar spans several files. */
  progressBase?: { done: number; total: number };
}

/**
 * The next URL of a redirect. A download that started on https never continues over plain http:
 * the checksum guards the bytes, but a model without one would be taken on trust from anyone on the path.
 */
export function redirectTarget(from: URL, location: string): URL {
  const to = new URL(location, from);
  if (from.protocol === 'https:' && to.protocol !== 'https:') {
    throw new SagaError('MODEL_INVALID', `The model download from ${from.host} redirected to an insecure address (${to.protocol}//${to.host}); refusing it. Download the model yourself and pass its folder with --model.`);
  }
  return to;
}

function httpGet(url: string, headers: Record<string, string>, signal?: AbortSignal, redirects = 5): Promise<IncomingMessage> {
  return new Promise((resolvePromise, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { headers: { 'user-agent': 'saga-studio', ...headers }, signal }, (res) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location && redirects > 0) {
        res.resume();
        let next: URL;
        try {
          next = redirectTarget(u, res.headers.location);
        } catch (e) {
          reject(e);
          return;
        }
        httpGet(next.href, headers, signal, redirects - 1).then(resolvePromise, reject);
        return;
      }
      resolvePromise(res);
    });
    req.on('error', reject);
    req.end();
  });
}

async function hashFile(path: string, hash = createHash('sha256')): Promise<ReturnType<typeof createHash>> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}

export async function sha256OfFile(path: string): Promise<string> {
  return (await hashFile(path)).digest('hex');
}

/**
 * Downloads `url` to `dest` through `dest.part`, resuming a previous partial download with an HTTP
 * Range request (also after a dropped connection, up to `retries` times), hashing as it goes.
 * Renames into place only when complete and (if given) the sha256 matches; a mismatch deletes the
 * partial file and throws MODEL_INVALID.
 */
export async function downloadFile(url: string, dest: string, options: DownloadOptions = {}): Promise<{ sha256: string; size: number }> {
  mkdirSync(dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const name = dest.split(/[\\/]/).pop()!;
  const retries = options.retries ?? 3;
  let attempt = 0;
  for (;;) {
    if (options.signal?.aborted) throw new SagaError('CANCELLED', `The download of ${name} was cancelled. Run it again to resume.`);
    let have = existsSync(part) ? statSync(part).size : 0;
    let res: IncomingMessage;
    try {
      res = await httpGet(url, have > 0 ? { range: `bytes=${have}-` } : {}, options.signal);
    } catch (e) {
      if (options.signal?.aborted) throw new SagaError('CANCELLED', `The download of ${name} was cancelled. Run it again to resume.`);
      if (attempt++ < retries) continue;
      throw new SagaError('MODEL_NOT_FOUND', `The model ${name} could not be downloaded from ${url} (${e instanceof Error ? e.message : String(e)}). Check the network connection and run the command again; it resumes where it stopped.`, { url }, { cause: e });
    }
    const status = res.statusCode ?? 0;
    if (status === 416 && have > 0) {
      // The part already holds the whole file: nothing left to fetch.
      res.resume();
    } else if (status === 200 || status === 206) {
      if (status === 200) have = 0; // the server ignored the range: start over
      const totalHeader = status === 206 ? /\/(\d+)$/.exec(res.headers['content-range'] ?? '')?.[1] : res.headers['content-length'];
      const total = totalHeader ? Number(totalHeader) : (options.expectedSize ?? 0);
      const out = createWriteStream(part, { flags: have > 0 ? 'a' : 'w' });
      let done = have;
      let lastReport = 0;
      const base = options.progressBase ?? { done: 0, total: 0 };
      try {
        await new Promise<void>((ok, fail) => {
          res.on('data', (chunk: Buffer) => {
            done += chunk.length;
            const now = Date.now();
            if (now - lastReport > 200) {
              lastReport = now;
              options.onProgress?.({ stage: 'download', file: name, done: base.done + done, total: base.total || total });
            }
          });
          res.on('aborted', () => fail(new Error('connection closed by the server')));
          res.on('error', fail);
          res.pipe(out);
          out.on('close', () => (res.complete ? ok() : fail(new Error('connection closed before the end of the file'))));
          out.on('error', fail);
        });
      } catch (e) {
        // Flush what arrived before retrying: the next attempt resumes from the file's real size.
        await new Promise<void>((ok) => {
          out.end(() => ok());
          out.on('error', () => ok());
        });
        if (options.signal?.aborted) throw new SagaError('CANCELLED', `The download of ${name} was cancelled. Run it again to resume.`);
        if (attempt++ < retries) continue;
        const got = existsSync(part) ? statSync(part).size : 0;
        throw new SagaError('MODEL_NOT_FOUND', `The download of ${name} stopped after ${got} of ${total || '?'} bytes (${e instanceof Error ? e.message : String(e)}). Run the command again to resume it.`, { url, bytes: got }, { cause: e });
      }
      if (total && statSync(part).size < total) {
        if (attempt++ < retries) continue;
        throw new SagaError('MODEL_NOT_FOUND', `The download of ${name} is incomplete (${statSync(part).size} of ${total} bytes). Run the command again to resume it.`, { url });
      }
      options.onProgress?.({ stage: 'download', file: name, done: base.done + done, total: base.total || total || done });
    } else {
      res.resume();
      throw new SagaError('MODEL_NOT_FOUND', `The server refused the model ${name} (HTTP ${status} for ${url}). The registry entry may be out of date: download the files yourself and pass --model <folder>.`, { url, status });
    }
    const size = statSync(part).size;
    const sha256 = await sha256OfFile(part);
    if (options.expectedSha256 && sha256 !== options.expectedSha256.toLowerCase()) {
      rmSync(part, { force: true });
      throw new SagaError(
        'MODEL_INVALID',
        options.checksumSource === 'recorded'
          ? `The downloaded ${name} differs from the copy recorded at its first download (sha256 ${sha256.slice(0, 12)}..., recorded ${options.expectedSha256.slice(0, 12)}...). It was deleted. The file on the server changed or was damaged in transit: try again, and if you trust the new file delete checksums.json in the models folder.`
          : `The downloaded ${name} is damaged or not the expected file (sha256 ${sha256.slice(0, 12)}..., expected ${options.expectedSha256.slice(0, 12)}...). It was deleted: run the command again to download it afresh.`,
        { url, sha256, expected: options.expectedSha256 },
      );
    }
    renameSync(part, dest);
    return { sha256, size };
  }
}

/** Reads one stored or deflated member out of a zip archive (enough for model archives). */
export function extractZipMember(zip: Uint8Array, member: string): Uint8Array {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new SagaError('MODEL_INVALID', 'The model archive is not a zip file. Delete it and download it again.');
  const entries = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  for (let e = 0; e < entries; e++) {
    if (view.getUint32(p, true) !== 0x02014b50) break;
    const method = view.getUint16(p + 10, true);
    const compSize = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLen));
    if (name === member || name.endsWith(`/${member}`)) {
      const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      const data = zip.subarray(dataStart, dataStart + compSize);
      if (method === 0) return data;
      if (method === 8) return new Uint8Array(inflateRawSync(data));
      throw new SagaError('MODEL_INVALID', `The model archive stores ${member} with an unsupported compression (${method}). Extract it yourself and pass --model <folder>.`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new SagaError('MODEL_INVALID', `The model archive has no ${member}. Delete it and download it again.`);
}

interface ChecksumRecord {
  sha256: string;
  size: number;
  recordedAt: string;
}

export interface InstalledModel {
  model: RegistryModel;
  installed: boolean;
}

export interface ModelManagerOptions {
  /** The user-data folder models live in. */
  modelsDir: string;
  registry?: RegistryModel[];
}

export function conventionOf(model: RegistryModel): EncoderConvention {
  if (!model.input) return SAM_DEFAULT_CONVENTION;
  return {
    layout: model.input.layout,
    size: model.input.size,
    pixelMean: model.input.pixelMean,
    pixelStd: model.input.pixelStd,
    ...(model.input.inputName ? { inputName: model.input.inputName } : {}),
    ...(model.input.outputName ? { outputName: model.input.outputName } : {}),
  };
}

export class ModelManager {
  readonly modelsDir: string;
  readonly registry: RegistryModel[];

  constructor(options: ModelManagerOptions) {
    this.modelsDir = resolve(options.modelsDir);
    this.registry = options.registry ?? loadRegistry();
  }

  private get checksumPath(): string {
    return join(this.modelsDir, 'checksums.json');
  }

  private checksums(): Record<string, ChecksumRecord> {
    if (!existsSync(this.checksumPath)) return {};
    try {
      return JSON.parse(readFileSync(this.checksumPath, 'utf8')) as Record<string, ChecksumRecord>;
    } catch (e) {
      throw new SagaError('MODEL_INVALID', `The model checksum record ${this.checksumPath} is damaged (${e instanceof Error ? e.message : String(e)}). Delete it; checksums will be recorded again at the next download.`, { path: this.checksumPath }, { cause: e });
    }
  }

  private record(key: string, rec: ChecksumRecord): void {
    const all = this.checksums();
    all[key] = rec;
    mkdirSync(this.modelsDir, { recursive: true });
    writeFileAtomicSync(this.checksumPath, JSON.stringify(all, null, 1));
  }

  /** The sha256 a file must have: the registry's, else the one recorded at first download. */
  expectedSha256(modelId: string, f: RegistryFile): string | null {
    return f.sha256 ?? this.checksums()[`${modelId}/${f.file}`]?.sha256 ?? null;
  }

  private checkOrRecord(modelId: string, f: RegistryFile, got: { sha256: string; size: number }): void {
    const key = `${modelId}/${f.file}`;
    const expected = this.expectedSha256(modelId, f);
    if (expected && expected !== got.sha256) {
      throw new SagaError(
        'MODEL_INVALID',
        `${f.file} of model '${modelId}' differs from the copy recorded at its first download (sha256 ${got.sha256.slice(0, 12)}..., recorded ${expected.slice(0, 12)}...). The file on the server changed or is damaged; if you trust the new file, delete ${this.checksumPath} and install again.`,
        { model: modelId, file: f.file },
      );
    }
    if (!f.sha256) this.record(key, { sha256: got.sha256, size: got.size, recordedAt: new Date().toISOString() });
  }

  model(id: string): RegistryModel {
    const m = this.registry.find((x) => x.id === id);
    if (!m) {
      throw new SagaError('MODEL_NOT_FOUND', `There is no SAM model '${id}' in the registry. Known models: ${this.registry.filter((x) => x.supported).map((x) => x.id).join(', ')}; or pass --model <folder> with an encoder and a decoder .onnx.`, { id });
    }
    return m;
  }

  modelDir(id: string): string {
    return join(this.modelsDir, id);
  }

  isInstalled(id: string): boolean {
    const m = this.model(id);
    return existsSync(join(this.modelDir(id), m.encoder.file)) && existsSync(join(this.modelDir(id), m.decoder.file));
  }

  list(): InstalledModel[] {
    return this.registry.map((model) => ({ model, installed: this.isInstalled(model.id) }));
  }

  /** Downloads (or resumes) a registry model's files and verifies them. */
  async install(id: string, options: { onProgress?: (p: DownloadProgress) => void; signal?: AbortSignal; retries?: number } = {}): Promise<SamModelFiles> {
    const m = this.model(id);
    if (!m.supported) throw new SagaError('MODEL_INVALID', `The model '${id}' is listed for reference but cannot be used by this version: ${m.caveat ?? 'unsupported signature'}. Choose another model.`, { id });
    const dir = this.modelDir(id);
    mkdirSync(dir, { recursive: true });
    if (m.archive) {
      const archivePath = join(dir, m.archive.file);
      if (!this.isInstalled(id)) {
        if (!m.archive.url) throw new SagaError('MODEL_NOT_FOUND', `The model '${id}' has no download address. Pass --model <folder> instead.`, { id });
        const got = await downloadFile(m.archive.url, archivePath, { expectedSha256: this.expectedSha256(id, m.archive), checksumSource: m.archive.sha256 ? 'registry' : 'recorded', expectedSize: m.archive.sizeBytes, ...options });
        this.checkOrRecord(id, m.archive, got);
        const zip = new Uint8Array(readFileSync(archivePath));
        for (const f of [m.encoder, m.decoder]) writeFileAtomicSync(join(dir, f.file), extractZipMember(zip, f.file));
        rmSync(archivePath, { force: true });
      }
      for (const f of [m.encoder, m.decoder]) this.checkOrRecord(id, f, { sha256: await sha256OfFile(join(dir, f.file)), size: statSync(join(dir, f.file)).size });
    } else {
      const total = (m.encoder.sizeBytes ?? 0) + (m.decoder.sizeBytes ?? 0);
      let base = 0;
      for (const f of [m.encoder, m.decoder]) {
        const dest = join(dir, f.file);
        if (!existsSync(dest)) {
          if (!f.url) throw new SagaError('MODEL_NOT_FOUND', `The model '${id}' has no download address for ${f.file}. Pass --model <folder> instead.`, { id });
          const got = await downloadFile(f.url, dest, { expectedSha256: this.expectedSha256(id, f), checksumSource: f.sha256 ? 'registry' : 'recorded', expectedSize: f.sizeBytes, progressBase: { done: base, total }, ...options });
          try {
            this.checkOrRecord(id, f, got);
          } catch (e) {
            rmSync(dest, { force: true });
            throw e;
          }
        }
        base += f.sizeBytes ?? 0;
      }
    }
    return this.resolve(id);
  }

  /**
   * The files to load for `--model <id|path>`: an installed registry id, or a folder holding one
   * *encoder*.onnx and one *decoder*.onnx (SAM's NCHW convention unless `convention` says otherwise).
   * Cheap checks only (existence, recorded size); the sha256 is checked at download and by verify().
   */
  resolve(idOrPath: string, convention: EncoderConvention = SAM_DEFAULT_CONVENTION): SamModelFiles {
    const known = this.registry.find((x) => x.id === idOrPath);
    if (known) {
      if (!known.supported) throw new SagaError('MODEL_INVALID', `The model '${known.id}' cannot be used by this version: ${known.caveat ?? 'unsupported signature'}. Choose another model.`, { id: known.id });
      const dir = this.modelDir(known.id);
      const rec = this.checksums();
      for (const f of [known.encoder, known.decoder]) {
        const path = join(dir, f.file);
        if (!existsSync(path)) {
          throw new SagaError('MODEL_NOT_FOUND', `The SAM model '${known.id}' is not installed (${path} is missing). Install it with 'saga-studio prepare --model ${known.id} --download', or pass --model <folder>.`, { id: known.id, path });
        }
        const expectedSize = rec[`${known.id}/${f.file}`]?.size ?? (f.sha256 ? null : f.sizeBytes);
        if (expectedSize && statSync(path).size !== expectedSize) {
          throw new SagaError('MODEL_INVALID', `The model file ${path} has the wrong size (${statSync(path).size} bytes, expected ${expectedSize}): it is damaged. Delete it and install the model again.`, { path });
        }
      }
      return { id: known.id, encoderPath: join(dir, known.encoder.file), decoderPath: join(dir, known.decoder.file), convention: conventionOf(known) };
    }
    const path = resolve(idOrPath);
    if (!existsSync(path)) {
      throw new SagaError('MODEL_NOT_FOUND', `'${idOrPath}' is neither a known SAM model id (${this.registry.filter((x) => x.supported).map((x) => x.id).join(', ')}) nor an existing folder.`, { model: idOrPath });
    }
    if (!statSync(path).isDirectory()) {
      throw new SagaError('BAD_ARGUMENT', `--model ${idOrPath} is a file; SAM needs two: pass the folder holding its encoder and decoder .onnx files.`, { path });
    }
    const onnx = readdirSync(path).filter((f) => f.toLowerCase().endsWith('.onnx'));
    const enc = onnx.filter((f) => /encoder/i.test(f));
    const dec = onnx.filter((f) => /decoder/i.test(f));
    if (enc.length !== 1 || dec.length !== 1) {
      throw new SagaError('MODEL_NOT_FOUND', `The folder ${path} must hold exactly one *encoder*.onnx and one *decoder*.onnx (found ${onnx.join(', ') || 'no .onnx files'}).`, { path });
    }
    // A local pair exported like a registry model keeps that model's input convention.
    const like = this.registry.find((x) => x.encoder.file === enc[0]);
    return { id: path, encoderPath: join(path, enc[0]!), decoderPath: join(path, dec[0]!), convention: like ? conventionOf(like) : convention };
  }

  /** Full sha256 check of an installed model against the registry or the recorded checksums. */
  async verify(id: string): Promise<void> {
    const files = this.resolve(id);
    const m = this.model(id);
    for (const [f, path] of [[m.encoder, files.encoderPath], [m.decoder, files.decoderPath]] as const) {
      const expected = this.expectedSha256(id, f);
      if (!expected) continue;
      const got = await sha256OfFile(path);
      if (got !== expected) {
        throw new SagaError('MODEL_INVALID', `The model file ${path} is damaged (sha256 mismatch). Delete it and install the model again.`, { path });
      }
    }
  }
}

/** The models folder every host uses (see main/common/user-data.ts). */
export { defaultModelsDir } from '../../common/user-data.ts';
