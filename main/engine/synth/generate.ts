/**
 * Procedural 3DGS scenes with ground truth: several objects made of named parts (a table with a mug
 * and a stack of books, a lamp with base, stand and shade, a shelf...), objects that touch, objects
 * of similar colour, thin parts and floor clutter. Every Gaussian carries its object and part id, so
 * segmentation can be scored against the truth.
 */
import { createScene, logit, SH_C0, type GaussianScene } from '../../scene/gaussians.ts';
import { SagaError } from '../../contract/errors.ts';
import { createRandom, type Random } from './random.ts';
import { box, ellipsoid, frustum, handle, plane, quaternionFromNormal, type Surface, type Vec3 } from './shapes.ts';

export const SYNTH_KINDS = ['tabletop', 'shelf', 'mixed'] as const;
export type SynthKind = (typeof SYNTH_KINDS)[number];

/** Object id 0 is the background (floor and empty space); label maps use the same ids. */
export const BACKGROUND_ID = 0;

export interface SynthPart {
  /** Unique over the scene (not only within its object); 0 is the floor. */
  id: number;
  name: string;
  objectId: number;
}

export interface SynthObject {
  id: number;
  name: string;
  /** Ids of the objects this one rests on or leans against: the oracle's "group" masks follow these. */
  touches: number[];
  /** Small floor clutter: kept in the truth, but not worth a prompt unless well visible. */
  clutter: boolean;
}

export interface SynthTruth {
  objects: SynthObject[];
  parts: SynthPart[];
  /** Object id per Gaussian (same as the `object_id` extra property). */
  objectIds: Int32Array;
  /** Part id per Gaussian (same as the `part_id` extra property). */
  partIds: Int32Array;
  /** Where cameras should look, and how far the scene extends around it. */
  focus: Vec3;
  radius: number;
}

export interface SynthSceneOptions {
  seed: number;
  /** Total Gaussian budget (the floor takes a fixed share). */
  gaussians: number;
  kind: SynthKind;
}

export interface SynthScene {
  scene: GaussianScene;
  truth: SynthTruth;
}

type Rgb = [number, number, number];

interface PartSpec {
  name: string;
  surfaces: Surface[];
  color: Rgb;
  /** Colour noise amplitude: wood grain and fabric are noisier than glazed ceramics. */
  texture: number;
  /** Minimum Gaussians, so that thin parts (lamp stand, table legs) stay visible at small budgets. */
  minCount?: number;
}

interface ObjectSpec {
  name: string;
  parts: PartSpec[];
  touches: string[];
  clutter?: boolean;
}

function jitterColor(rng: Random, c: Rgb, amount: number): Rgb {
  return [c[0] + rng.uniform(-amount, amount), c[1] + rng.uniform(-amount, amount), c[2] + rng.uniform(-amount, amount)];
}

function table(rng: Random, center: Vec3, yaw: number): { spec: ObjectSpec; topZ: number; half: [number, number] } {
  const hx = rng.uniform(0.5, 0.65);
  const hy = rng.uniform(0.32, 0.42);
  const topZ = rng.uniform(0.72, 0.78);
  const thick = 0.025;
  const wood = jitterColor(rng, [0.55, 0.36, 0.2], 0.05);
  const legs: Surface[] = [];
  const legHalf = 0.025;
  for (const sx of [-1, 1]) {
    for (const sy of [-1, 1]) {
      const lx = sx * (hx - 0.06);
      const ly = sy * (hy - 0.06);
      const c = Math.cos(yaw), s = Math.sin(yaw);
      legs.push(box([center[0] + c * lx - s * ly, center[1] + s * lx + c * ly, (topZ - 2 * thick) / 2], [legHalf, legHalf, (topZ - 2 * thick) / 2], yaw));
    }
  }
  return {
    spec: {
      name: 'table',
      touches: [],
      parts: [
        { name: 'top', surfaces: [box([center[0], center[1], topZ - thick], [hx, hy, thick], yaw, false)], color: wood, texture: 0.06 },
        { name: 'legs', surfaces: legs, color: jitterColor(rng, [0.42, 0.27, 0.15], 0.03), texture: 0.04, minCount: 200 },
      ],
    },
    topZ,
    half: [hx, hy],
  };
}

function mug(rng: Random, base: Vec3, onto: string): ObjectSpec {
  const r = rng.uniform(0.04, 0.055);
  const h = rng.uniform(0.09, 0.12);
  const glaze = rng.pick<Rgb>([[0.8, 0.15, 0.12], [0.9, 0.9, 0.85], [0.15, 0.45, 0.7]]);
  const yaw = rng.uniform(0, 2 * Math.PI);
  return {
    name: 'mug',
    touches: [onto],
    parts: [
      { name: 'body', surfaces: [frustum(base, r, r * 1.05, h, false), frustum([base[0], base[1], base[2] + 0.004], r * 0.9, r * 0.95, h * 0.95, false)], color: glaze, texture: 0.03, minCount: 150 },
      {
        name: 'handle',
        surfaces: [handle([base[0] + Math.cos(yaw) * r, base[1] + Math.sin(yaw) * r, base[2] + h * 0.5], h * 0.28, 0.008, yaw)],
        color: jitterColor(rng, glaze, 0.04),
        texture: 0.03,
        minCount: 60,
      },
    ],
  };
}

/** A stack of books: separate objects of deliberately similar colours that touch each other. */
function bookStack(rng: Random, base: Vec3, onto: string, count: number, startIndex: number): ObjectSpec[] {
  const family = rng.pick<Rgb>([[0.2, 0.3, 0.6], [0.6, 0.2, 0.2], [0.25, 0.5, 0.3]]);
  const books: ObjectSpec[] = [];
  let z = base[2];
  let below = onto;
  for (let i = 0; i < count; i++) {
    const t = rng.uniform(0.025, 0.045);
    const name = `book-${startIndex + i}`;
    const cover = jitterColor(rng, family, 0.08);
    const yaw = rng.uniform(-0.4, 0.4);
    const hx = rng.uniform(0.08, 0.12);
    const hy = rng.uniform(0.06, 0.085);
    books.push({
      name,
      touches: [below],
      parts: [
        { name: 'cover', surfaces: [box([base[0], base[1], z + t / 2], [hx, hy, t / 2], yaw)], color: cover, texture: 0.03 },
        // The page block shows as a pale band on one long side.
        { name: 'pages', surfaces: [box([base[0] + Math.cos(yaw) * hx * 0.98, base[1] + Math.sin(yaw) * hx * 0.98, z + t / 2], [0.004, hy * 0.95, t * 0.42], yaw)], color: [0.92, 0.9, 0.82], texture: 0.02, minCount: 40 },
      ],
    });
    z += t;
    below = name;
  }
  return books;
}

function lamp(rng: Random, base: Vec3): ObjectSpec {
  const standH = rng.uniform(1.1, 1.4);
  const shadeH = rng.uniform(0.25, 0.32);
  const metal = jitterColor(rng, [0.25, 0.25, 0.27], 0.03);
  return {
    name: 'lamp',
    touches: [],
    parts: [
      { name: 'base', surfaces: [frustum(base, 0.16, 0.12, 0.03, true)], color: metal, texture: 0.02, minCount: 120 },
      // Thin on purpose: a 1 cm pole is a few pixels wide at most, the hardest part to segment.
      { name: 'stand', surfaces: [frustum([base[0], base[1], base[2] + 0.03], 0.012, 0.012, standH, false)], color: metal, texture: 0.02, minCount: 150 },
      {
        name: 'shade',
        surfaces: [frustum([base[0], base[1], base[2] + standH - shadeH * 0.4], 0.24, 0.13, shadeH, false)],
        color: jitterColor(rng, [0.93, 0.85, 0.62], 0.04),
        texture: 0.03,
      },
    ],
  };
}

function shelf(rng: Random, center: Vec3, yaw: number, boards: number): { spec: ObjectSpec; boardZ: number[]; half: [number, number] } {
  const hx = rng.uniform(0.5, 0.6);
  const hy = 0.16;
  const height = rng.uniform(1.2, 1.5);
  const wood = jitterColor(rng, [0.7, 0.6, 0.45], 0.05);
  const c = Math.cos(yaw), s = Math.sin(yaw);
  const at = (lx: number, ly: number, z: number): Vec3 => [center[0] + c * lx - s * ly, center[1] + s * lx + c * ly, z];
  const boardZ: number[] = [];
  const boardSurfaces: Surface[] = [];
  for (let i = 0; i < boards; i++) {
    const z = 0.05 + (i * (height - 0.1)) / (boards - 1);
    boardZ.push(z + 0.012);
    boardSurfaces.push(box(at(0, 0, z), [hx - 0.02, hy, 0.012], yaw, false));
  }
  return {
    spec: {
      name: 'shelf',
      touches: [],
      parts: [
        { name: 'sides', surfaces: [box(at(-hx, 0, height / 2), [0.02, hy, height / 2], yaw), box(at(hx, 0, height / 2), [0.02, hy, height / 2], yaw)], color: wood, texture: 0.05 },
        { name: 'boards', surfaces: boardSurfaces, color: jitterColor(rng, wood, 0.03), texture: 0.05 },
        { name: 'back', surfaces: [box(at(0, -hy - 0.005, height / 2), [hx, 0.005, height / 2], yaw)], color: jitterColor(rng, wood, 0.08), texture: 0.04 },
      ],
    },
    boardZ,
    half: [hx, hy],
  };
}

function vase(rng: Random, base: Vec3, onto: string): ObjectSpec {
  const r = rng.uniform(0.06, 0.08);
  const color = rng.pick<Rgb>([[0.3, 0.55, 0.55], [0.75, 0.55, 0.3], [0.5, 0.3, 0.55]]);
  return {
    name: 'vase',
    touches: [onto],
    parts: [
      { name: 'belly', surfaces: [ellipsoid([base[0], base[1], base[2] + r], [r, r, r])], color, texture: 0.03 },
      { name: 'neck', surfaces: [frustum([base[0], base[1], base[2] + 1.8 * r], r * 0.35, r * 0.45, r * 1.2, false)], color: jitterColor(rng, color, 0.05), texture: 0.03, minCount: 60 },
    ],
  };
}

function plant(rng: Random, base: Vec3): ObjectSpec {
  const r = rng.uniform(0.12, 0.16);
  return {
    name: 'plant',
    touches: [],
    parts: [
      { name: 'pot', surfaces: [frustum(base, r * 0.8, r, r * 1.4, true)], color: jitterColor(rng, [0.7, 0.35, 0.2], 0.04), texture: 0.03 },
      { name: 'foliage', surfaces: [ellipsoid([base[0], base[1], base[2] + r * 1.4 + r * 1.1], [r * 1.3, r * 1.3, r * 1.2])], color: jitterColor(rng, [0.2, 0.5, 0.18], 0.04), texture: 0.12 },
    ],
  };
}

function clutter(rng: Random, index: number, position: Vec3): ObjectSpec {
  const size = rng.uniform(0.04, 0.09);
  const color: Rgb = [rng.uniform(0.2, 0.9), rng.uniform(0.2, 0.9), rng.uniform(0.2, 0.9)];
  const surface = rng.chance(0.5)
    ? box([position[0], position[1], size / 2], [size * rng.uniform(0.6, 1.2), size * rng.uniform(0.6, 1.2), size / 2], rng.uniform(0, Math.PI))
    : ellipsoid([position[0], position[1], size * 0.8], [size, size * rng.uniform(0.7, 1.1), size * 0.8]);
  return { name: `clutter-${index}`, touches: [], clutter: true, parts: [{ name: 'body', surfaces: [surface], color, texture: 0.04, minCount: 40 }] };
}

/** Scatters floor clutter on a ring outside the main furniture so it neither floats nor intersects. */
function scatterClutter(rng: Random, count: number, innerRadius: number, outerRadius: number): ObjectSpec[] {
  const out: ObjectSpec[] = [];
  for (let i = 0; i < count; i++) {
    const a = rng.uniform(0, 2 * Math.PI);
    const r = rng.uniform(innerRadius, outerRadius);
    out.push(clutter(rng, i + 1, [r * Math.cos(a), r * Math.sin(a), 0]));
  }
  return out;
}

function tabletopObjects(rng: Random): ObjectSpec[] {
  const yaw = rng.uniform(-0.3, 0.3);
  const t = table(rng, [0, 0, 0], yaw);
  const c = Math.cos(yaw), s = Math.sin(yaw);
  const onTop = (lx: number, ly: number): Vec3 => [c * lx - s * ly, s * lx + c * ly, t.topZ];
  const [hx, hy] = t.half;
  const mugSpot = onTop(rng.uniform(0.1, 0.5) * hx, rng.uniform(-0.5, 0.5) * hy);
  const bookSpot = onTop(-rng.uniform(0.35, 0.6) * hx, rng.uniform(-0.3, 0.3) * hy);
  const lampAngle = yaw + rng.pick([1, -1]) * rng.uniform(0.6, 1.2) + (rng.chance(0.5) ? 0 : Math.PI);
  const lampDist = hx + 0.35;
  return [
    t.spec,
    mug(rng, mugSpot, 'table'),
    ...bookStack(rng, bookSpot, 'table', rng.int(2, 3), 1),
    lamp(rng, [lampDist * Math.cos(lampAngle), lampDist * Math.sin(lampAngle), 0]),
    ...scatterClutter(rng, rng.int(2, 4), hx + 0.35, hx + 0.8),
  ];
}

function shelfObjects(rng: Random): ObjectSpec[] {
  const boards = 3;
  const sh = shelf(rng, [0, 0, 0], 0, boards);
  const objects: ObjectSpec[] = [sh.spec];
  const [hx] = sh.half;
  // Books lean side by side on the lowest and middle boards: similar colours, touching each other.
  let bookIndex = 1;
  for (let b = 0; b < boards - 1; b++) {
    const z = sh.boardZ[b]!;
    let x = -hx + 0.08;
    const n = rng.int(2, 3);
    const family = rng.pick<Rgb>([[0.2, 0.3, 0.6], [0.6, 0.2, 0.2], [0.25, 0.5, 0.3]]);
    let prev = 'shelf';
    for (let i = 0; i < n; i++) {
      const w = rng.uniform(0.03, 0.05);
      const h = rng.uniform(0.18, 0.26);
      const name = `book-${bookIndex++}`;
      objects.push({
        name,
        touches: i === 0 ? ['shelf'] : ['shelf', prev],
        parts: [
          { name: 'cover', surfaces: [box([x + w / 2, 0, z + h / 2], [w / 2, 0.1, h / 2], 0)], color: jitterColor(rng, family, 0.07), texture: 0.03 },
          { name: 'spine-label', surfaces: [box([x + w / 2, 0.1 + 0.002, z + h * 0.6], [w * 0.4, 0.002, h * 0.12], 0)], color: [0.9, 0.85, 0.6], texture: 0.02, minCount: 30 },
        ],
      });
      prev = name;
      x += w + 0.001;
    }
    if (b === 1) objects.push(vase(rng, [hx - 0.2, 0, z], 'shelf'));
  }
  objects.push(plant(rng, [hx + 0.45, rng.uniform(0.1, 0.4), 0]));
  objects.push(lamp(rng, [-hx - 0.45, rng.uniform(0.2, 0.5), 0]));
  objects.push(...scatterClutter(rng, rng.int(2, 3), hx + 0.5, hx + 0.9));
  return objects;
}

function mixedObjects(rng: Random): ObjectSpec[] {
  // A table group plus a plant and a second lamp: more objects per view, more occlusion.
  const base = tabletopObjects(rng);
  const a = rng.uniform(0, 2 * Math.PI);
  base.push(plant(rng, [1.25 * Math.cos(a), 1.25 * Math.sin(a), 0]));
  return base;
}

function objectSpecs(kind: SynthKind, rng: Random): ObjectSpec[] {
  switch (kind) {
    case 'tabletop': return tabletopObjects(rng);
    case 'shelf': return shelfObjects(rng);
    case 'mixed': return mixedObjects(rng);
  }
}

/** Unit direction towards the key light (up, and from one side). */
const KEY_LIGHT: Vec3 = [0.37, 0.28, 0.886];

/** Share of the budget spent on the floor: enough to hide the empty background, not enough to starve objects. */
const FLOOR_SHARE = 0.25;

/**
 * Builds a scene deterministically from the seed. Gaussians are flat discs lying on part surfaces
 * (the normal axis 8 times thinner), sized to the local sample spacing, with opacities and colours
 * drawn around the part's colour, as a trained 3DGS scene looks after densification.
 */
export function generateSynthScene(options: SynthSceneOptions): SynthScene {
  const { seed, gaussians, kind } = options;
  if (!Number.isInteger(gaussians) || gaussians < 1000) {
    throw new SagaError('BAD_ARGUMENT', `A synthetic scene needs at least 1000 Gaussians (got ${gaussians}). Pass --gaussians 1000 or more.`);
  }
  if (!SYNTH_KINDS.includes(kind)) {
    throw new SagaError('BAD_ARGUMENT', `Unknown scene kind '${String(kind)}'. Use one of: ${SYNTH_KINDS.join(', ')}.`);
  }
  const layoutRng = createRandom(seed);
  const specs = objectSpecs(kind, layoutRng);
  const nameToId = new Map<string, number>();
  specs.forEach((o, i) => nameToId.set(o.name, i + 1));

  const objects: SynthObject[] = specs.map((o, i) => ({
    id: i + 1,
    name: o.name,
    touches: o.touches.map((n) => nameToId.get(n)).filter((x): x is number => x !== undefined),
    clutter: o.clutter ?? false,
  }));
  const parts: SynthPart[] = [{ id: 0, name: 'floor', objectId: BACKGROUND_ID }];
  const allParts: { part: SynthPart; spec: PartSpec; area: number }[] = [];
  specs.forEach((o, i) => {
    for (const p of o.parts) {
      const part: SynthPart = { id: parts.length, name: `${o.name}/${p.name}`, objectId: i + 1 };
      parts.push(part);
      allParts.push({ part, spec: p, area: p.surfaces.reduce((s, x) => s + x.area, 0) });
    }
  });

  const floorRadius = 2.2;
  const floorSpec: PartSpec = { name: 'floor', surfaces: [plane([0, 0, 0], floorRadius, floorRadius)], color: [0.62, 0.6, 0.56], texture: 0.04 };
  const floorCount = Math.round(gaussians * FLOOR_SHARE);
  const objectBudget = gaussians - floorCount;
  const minTotal = allParts.reduce((s, p) => s + (p.spec.minCount ?? 20), 0);
  if (minTotal > objectBudget) {
    throw new SagaError('BAD_ARGUMENT', `This scene needs at least ${Math.ceil(minTotal / (1 - FLOOR_SHARE))} Gaussians for its thin parts. Raise --gaussians.`);
  }
  const totalArea = allParts.reduce((s, p) => s + p.area, 0);
  // Share the budget by area, then top thin parts up to their minimum, taking from the largest part.
  const counts = allParts.map((p) => Math.max(p.spec.minCount ?? 20, Math.floor((objectBudget * p.area) / totalArea)));
  let excess = counts.reduce((s, c) => s + c, 0) - objectBudget;
  while (excess !== 0) {
    let largest = 0;
    for (let i = 1; i < counts.length; i++) if (counts[i]! > counts[largest]!) largest = i;
    const take = Math.min(excess, counts[largest]! - (allParts[largest]!.spec.minCount ?? 20));
    counts[largest] = counts[largest]! - take;
    excess -= take;
    if (take <= 0 && excess > 0) break;
    if (excess < 0) { counts[largest] = counts[largest]! - excess; excess = 0; }
  }

  const total = floorCount + counts.reduce((s, c) => s + c, 0);
  const scene = createScene(total, 0);
  const objectIds = new Int32Array(total);
  const partIds = new Int32Array(total);
  const gaussianRng = createRandom(seed).fork(0x5eed);
  let row = 0;
  const emit = (spec: PartSpec, area: number, count: number, objectId: number, partId: number) => {
    const spacing = Math.sqrt(area / Math.max(1, count));
    for (let k = 0; k < count; k++) {
      const surface = pickSurface(spec.surfaces, area, gaussianRng);
      const { position, normal } = surface.sample(gaussianRng);
      scene.positions.set(position, row * 3);
      const tangent = spacing * gaussianRng.uniform(0.45, 0.75);
      scene.scales[row * 3] = Math.log(tangent * gaussianRng.uniform(0.8, 1.25));
      scene.scales[row * 3 + 1] = Math.log(tangent * gaussianRng.uniform(0.8, 1.25));
      scene.scales[row * 3 + 2] = Math.log(tangent / 8);
      // Spin each disc about its normal so the footprints do not all align.
      const q = quaternionFromNormal(normal);
      const spin = gaussianRng.uniform(0, Math.PI);
      const cs = Math.cos(spin / 2), sn = Math.sin(spin / 2);
      // q * (cos, 0, 0, sin): rotate about local z first.
      scene.rotations[row * 4] = q[0] * cs - q[3] * sn;
      scene.rotations[row * 4 + 1] = q[1] * cs + q[2] * sn;
      scene.rotations[row * 4 + 2] = q[2] * cs - q[1] * sn;
      scene.rotations[row * 4 + 3] = q[3] * cs + q[0] * sn;
      scene.opacities[row] = logit(gaussianRng.uniform(0.55, 0.97));
      // Baked diffuse shading from one key light: faces of one colour then differ in brightness, as in
      // a real capture, which is what lets an image model tell a box's sides apart.
      const lambert = Math.abs(normal[0] * KEY_LIGHT[0] + normal[1] * KEY_LIGHT[1] + normal[2] * KEY_LIGHT[2]);
      const shade = 0.6 + 0.4 * lambert;
      for (let ch = 0; ch < 3; ch++) {
        const c = Math.min(0.98, Math.max(0.02, shade * (spec.color[ch]! + gaussianRng.normal() * spec.texture * 0.5)));
        scene.sh0[row * 3 + ch] = (c - 0.5) / SH_C0;
      }
      objectIds[row] = objectId;
      partIds[row] = partId;
      row++;
    }
  };
  emit(floorSpec, floorSpec.surfaces[0]!.area, floorCount, BACKGROUND_ID, 0);
  allParts.forEach((p, i) => emit(p.spec, p.area, counts[i]!, p.part.objectId, p.part.id));

  scene.extras.push({ name: 'object_id', type: 'int', data: objectIds });
  scene.extras.push({ name: 'part_id', type: 'int', data: partIds });

  const focus: Vec3 = kind === 'shelf' ? [0, 0, 0.6] : [0, 0, 0.5];
  return { scene, truth: { objects, parts, objectIds, partIds, focus, radius: kind === 'shelf' ? 1.15 : 1.1 } };
}

function pickSurface(surfaces: Surface[], area: number, rng: Random): Surface {
  if (surfaces.length === 1) return surfaces[0]!;
  let r = rng.next() * area;
  for (const s of surfaces) {
    if (r < s.area) return s;
    r -= s.area;
  }
  return surfaces[surfaces.length - 1]!;
}
