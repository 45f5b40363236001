/**
 * Test helper: a ProjectSource for a real INRIA PLY built from its header and checksum only, so
 * the store's tests do not depend on the scene readers.
 */
import { readFileSync, statSync } from 'node:fs';
import { lookAtCamera } from '../scene/camera.ts';
import { parsePlyHeader } from '../scene/ply-header.ts';
import { sha256File } from './checksum.ts';
import type { ProjectSource } from './store.ts';

export async function plySource(path: string, viewCount = 3): Promise<ProjectSource> {
  const bytes = readFileSync(path);
  const head = new Uint8Array(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 1 << 16));
  const header = parsePlyHeader(head, path);
  const vertex = header.elements.find((e) => e.name === 'vertex')!;
  const views = Array.from({ length: viewCount }, (_, i) => {
    const a = (i / viewCount) * 2 * Math.PI;
    return { ...lookAtCamera(`view-${i}`, [3 * Math.cos(a), 0, 3 * Math.sin(a)], [0, 0, 0], [0, -1, 0], 64, 48, 0.8), imagePath: `/images/view-${i}.png` };
  });
  return {
    scenePath: path,
    format: 'ply',
    count: vertex.count,
    shDegree: 3,
    bytes: statSync(path).size,
    checksum: await sha256File(path),
    bounds: { min: [-1, -1, -1], max: [1, 1, 1] },
    properties: vertex.properties.map((p) => p.name),
    views,
  };
}
