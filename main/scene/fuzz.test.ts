/**
 * Mutation fuzzing of the scene readers: the four shared real scenes (plus a .spz written from one
 * of them) are truncated, bit-flipped, overwritten, spliced and given rewritten header numbers with
 * a seeded PRNG. Every case must end in a SagaError or a valid scene: no other exception, no hang,
 * no scene with the wrong array lengths. Set SAGA_FUZZ_CASES to run more cases per fixture.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCENES, sharedScene } from '../../e2e/fixtures.ts';
import { SagaError } from '../contract/errors.ts';
import { type GaussianScene, shRestPerChannel } from './gaussians.ts';
import { detectSceneFormat, encodeScene, readSceneBytes } from './io.ts';
import { loadNianticSpz, nianticCloud } from './splat-transform-oracle.ts';
import { mulberry32 as prng } from '../common/random.ts';

const CASES_PER_FIXTURE = Number(process.env.SAGA_FUZZ_CASES ?? 350);


type Mutation = (bytes: Uint8Array, rand: () => number, headerEnd: number) => Uint8Array;

const int = (rand: () => number, n: number) => Math.floor(rand() * n);

/** Mutations weighted toward the header, where most parsing decisions are made. */
const MUTATIONS: [string, Mutation][] = [
  ['truncate', (b, r, h) => b.slice(0, r() < 0.5 ? int(r, Math.max(1, h + 16)) : int(r, b.length))],
  ['flip bits', (b, r, h) => {
    const out = b.slice();
    const flips = 1 + int(r, 8);
    for (let i = 0; i < flips; i++) {
      const at = r() < 0.5 && h > 0 ? int(r, h) : int(r, out.length);
      out[at]! ^= 1 << int(r, 8);
    }
    return out;
  }],
  ['random bytes', (b, r) => {
    const out = b.slice();
    const at = int(r, out.length);
    const len = 1 + int(r, 64);
    for (let i = at; i < Math.min(out.length, at + len); i++) out[i] = int(r, 256);
    return out;
  }],
  ['header number', (b, r, h) => {
    // Rewrite one number in the header text (counts, format version) with something extreme.
    if (h <= 0) return b.slice(0, Math.max(0, b.length - 1 - int(r, 64)));
    const text = new TextDecoder('latin1').decode(b.subarray(0, h));
    const numbers = [...text.matchAll(/\d+/g)];
    const pick = numbers[int(r, numbers.length)];
    if (!pick) return b.slice();
    const choices = ['0', '1', '255', '256', '65535', '4294967295', '4294967296', '99999999999999999999', String(Number(pick[0]) + 1), String(Math.max(0, Number(pick[0]) - 1)), '-1'];
    const replacement = choices[int(r, choices.length)]!;
    const head = text.slice(0, pick.index) + replacement + text.slice(pick.index! + pick[0].length);
    const out = new Uint8Array(head.length + b.length - h);
    out.set(new TextEncoder().encode(head));
    out.set(b.subarray(h), head.length);
    return out;
  }],
  ['header word', (b, r, h) => {
    if (h <= 0) return b.slice();
    const text = new TextDecoder('latin1').decode(b.subarray(0, h));
    const words = ['float', 'double', 'uchar', 'int', 'list', 'element', 'property', 'ascii', 'binary_big_endian', 'vertex', 'chunk', 'sh', 'end_header', ''];
    const all = [...text.matchAll(/[a-z_]+/g)];
    const pick = all[int(r, all.length)];
    if (!pick) return b.slice();
    const head = text.slice(0, pick.index) + words[int(r, words.length)]! + text.slice(pick.index! + pick[0].length);
    const out = new Uint8Array(head.length + b.length - h);
    out.set(new TextEncoder().encode(head));
    out.set(b.subarray(h), head.length);
    return out;
  }],
  ['splice', (b, r) => {
    // Delete or duplicate a span: shifts every later row.
    const at = int(r, b.length);
    const len = 1 + int(r, 600);
    if (r() < 0.5) {
      const end = Math.min(b.length, at + len);
      const out = new Uint8Array(b.length - (end - at));
      out.set(b.subarray(0, at));
      out.set(b.subarray(end), at);
      return out;
    }
    const span = b.subarray(at, at + len);
    const out = new Uint8Array(b.length + span.length);
    out.set(b.subarray(0, at));
    out.set(span, at);
    out.set(b.subarray(at), at + span.length);
    return out;
  }],
];

function headerLength(bytes: Uint8Array): number {
  if (bytes[0] !== 0x70) return 0; // not a PLY: no text header
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, 8192));
  const i = text.indexOf('end_header\n');
  return i < 0 ? 0 : i + 'end_header\n'.length;
}

function expectValidScene(scene: GaussianScene): void {
  const n = scene.count;
  expect(Number.isSafeInteger(n) && n > 0).toBe(true);
  expect(scene.positions.length).toBe(3 * n);
  expect(scene.scales.length).toBe(3 * n);
  expect(scene.rotations.length).toBe(4 * n);
  expect(scene.opacities.length).toBe(n);
  expect(scene.sh0.length).toBe(3 * n);
  expect(scene.shRest.length).toBe(3 * shRestPerChannel(scene.shDegree) * n);
  for (const e of scene.extras) expect(e.data.length).toBe(n);
}

const fixtures: { name: string; bytes: Uint8Array }[] = [];
beforeAll(async () => {
  for (const file of Object.values(SCENES)) fixtures.push({ name: file, bytes: new Uint8Array(await readFile(sharedScene(file))) });
  const inria = fixtures.find((f) => f.name === SCENES.inria)!;
  // No .spz is shared: one written by us (version 3, gzip) and one by the Niantic library
  // (version 4, ZSTD streams) from the INRIA scene exercise both containers.
  const scene = readSceneBytes(inria.bytes, 'ply');
  fixtures.push({ name: 'inria-sh3-9080.spz', bytes: encodeScene(scene, 'spz') });
  const spz = await loadNianticSpz();
  fixtures.push({ name: 'inria-sh3-9080.v4.spz', bytes: spz.saveSpzToBuffer(nianticCloud(scene), { version: 4, from: spz.CoordinateSystem.RDF, sh1Bits: 5, shRestBits: 4 }) });
});

describe('scene reader fuzzing', () => {
  it(`${CASES_PER_FIXTURE} mutated or truncated cases per fixture end in a SagaError or a valid scene`, () => {
    const rand = prng(0x5a6a);
    const outcomes = new Map<string, number>();
    let cases = 0;
    for (const fixture of fixtures) {
      const h = headerLength(fixture.bytes);
      for (let c = 0; c < CASES_PER_FIXTURE; c++) {
        const [kind, mutate] = MUTATIONS[int(rand, MUTATIONS.length)]!;
        const mutated = mutate(fixture.bytes, rand, h);
        const nonFinite = rand() < 0.5 ? 'reject' : 'keep';
        cases++;
        try {
          const format = detectSceneFormat(fixture.name, mutated.subarray(0, 65536));
          const scene = readSceneBytes(mutated, format, { nonFinite, path: fixture.name });
          expectValidScene(scene);
          outcomes.set('valid scene', (outcomes.get('valid scene') ?? 0) + 1);
        } catch (e) {
          if (!(e instanceof SagaError)) {
            throw new Error(`case ${c} of ${fixture.name} (${kind}, ${mutated.length} bytes) threw a non-SagaError: ${e instanceof Error ? e.stack : String(e)}`);
          }
          expect(e.code).not.toBe('INTERNAL');
          expect(e.message.length).toBeGreaterThan(20);
          outcomes.set(e.code, (outcomes.get(e.code) ?? 0) + 1);
        }
      }
    }
    expect(cases).toBeGreaterThanOrEqual(2000);
    // The mutations must reach both outcomes and several distinct error paths.
    expect(outcomes.get('valid scene') ?? 0).toBeGreaterThan(0);
    expect(outcomes.size).toBeGreaterThanOrEqual(5);
    console.log(`fuzz: ${cases} cases`, Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])));
  }, 120_000);
});
