/**
 * A plain summary of a scene for `saga-studio info` and the UI's file panel: count, SH degree,
 * per-Gaussian properties, bounds of the centres, format.
 */
import { type GaussianScene, type PlyScalarType, type SceneFormat, sceneBounds } from './gaussians.ts';
import { plyWriteLayout } from './ply-writer.ts';

export interface SceneInfo {
  path?: string;
  format: SceneFormat;
  count: number;
  shDegree: number;
  /** PLY vertex properties in file order for a PLY; otherwise the properties the scene holds. */
  properties: { name: string; type: PlyScalarType }[];
  bounds: { min: [number, number, number]; max: [number, number, number] };
  /** Present when the scene was read with `nonFinite: 'report'`. */
  nonFinite?: { count: number; firstRow: number };
  fileBytes?: number;
}

export function describeScene(scene: GaussianScene, fileBytes?: number): SceneInfo {
  const properties = scene.source?.plyProperties ?? plyWriteLayout(scene);
  const info: SceneInfo = {
    format: scene.source?.format ?? 'ply',
    count: scene.count,
    shDegree: scene.shDegree,
    properties: properties.map((p) => ({ name: p.name, type: p.type })),
    bounds: sceneBounds(scene),
  };
  if (scene.source?.path !== undefined) info.path = scene.source.path;
  if (scene.source?.nonFinite) info.nonFinite = scene.source.nonFinite;
  if (fileBytes !== undefined) info.fileBytes = fileBytes;
  return info;
}

const FORMAT_NAMES: Record<SceneFormat, string> = {
  ply: '3DGS PLY (INRIA layout)',
  'compressed-ply': 'PlayCanvas compressed PLY',
  splat: 'antimatter15 .splat',
  spz: 'Niantic .spz',
};

function fmt(v: number): string {
  return Number.isFinite(v) ? Number(v.toPrecision(6)).toString() : String(v);
}

/** Compacts f_rest_0..f_rest_44 style sequences so the property list stays readable. */
function propertyList(props: { name: string; type: string }[]): string {
  const parts: string[] = [];
  for (let i = 0; i < props.length; ) {
    const p = props[i]!;
    const m = /^(.*_)(\d+)$/.exec(p.name);
    if (m && Number(m[2]) === 0) {
      let j = i + 1;
      while (j < props.length && props[j]!.name === `${m[1]}${j - i}` && props[j]!.type === p.type) j++;
      if (j - i > 3) {
        parts.push(`${m[1]}0..${j - i - 1} (${p.type})`);
        i = j;
        continue;
      }
    }
    parts.push(`${p.name} (${p.type})`);
    i++;
  }
  return parts.join(', ');
}

export function formatSceneInfo(info: SceneInfo): string {
  const lines = [
    ...(info.path ? [`file:        ${info.path}`] : []),
    `format:      ${FORMAT_NAMES[info.format]}`,
    `gaussians:   ${info.count.toLocaleString('en-US')}`,
    `sh degree:   ${info.shDegree}`,
    `properties:  ${info.properties.length}: ${propertyList(info.properties)}`,
    `bounds min:  ${info.bounds.min.map(fmt).join(' ')}`,
    `bounds max:  ${info.bounds.max.map(fmt).join(' ')}`,
  ];
  if (info.fileBytes !== undefined) lines.push(`file size:   ${info.fileBytes.toLocaleString('en-US')} bytes`);
  if (info.nonFinite) {
    lines.push(`non-finite:  ${info.nonFinite.count === 0 ? 'none' : `${info.nonFinite.count.toLocaleString('en-US')} Gaussians hold NaN/Inf (first at row ${info.nonFinite.firstRow})`}`);
  }
  return lines.join('\n') + '\n';
}
