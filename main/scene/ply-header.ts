/**
 * PLY header parsing shared by the INRIA and PlayCanvas compressed PLY readers. The header is
 * ASCII text ending in `end_header\n`; everything after it is the element data.
 */
import { SagaError } from '../contract/errors.ts';
import type { PlyScalarType } from './gaussians.ts';

export type PlyEncoding = 'binary_little_endian' | 'binary_big_endian' | 'ascii';

export interface PlyProperty {
  name: string;
  type: PlyScalarType;
  /** Set for `property list <countType> <itemType> name`; such elements cannot hold Gaussians. */
  list?: { countType: PlyScalarType; itemType: PlyScalarType };
}

export interface PlyElement {
  name: string;
  count: number;
  properties: PlyProperty[];
}

export interface PlyHeader {
  encoding: PlyEncoding;
  comments: string[];
  elements: PlyElement[];
  /** Bytes up to and including the newline after `end_header`. */
  headerBytes: number;
}

/** A header longer than this is not a Gaussian scene (62 properties take about 1.5 KB). */
export const MAX_PLY_HEADER_BYTES = 1 << 20;

const TYPE_ALIASES: Record<string, PlyScalarType> = {
  char: 'char', int8: 'char',
  uchar: 'uchar', uint8: 'uchar',
  short: 'short', int16: 'short',
  ushort: 'ushort', uint16: 'ushort',
  int: 'int', int32: 'int',
  uint: 'uint', uint32: 'uint',
  float: 'float', float32: 'float',
  double: 'double', float64: 'double',
};

export const PLY_TYPE_SIZE: Record<PlyScalarType, number> = {
  char: 1, uchar: 1, short: 2, ushort: 2, int: 4, uint: 4, float: 4, double: 8,
};

function badHeader(what: string, path?: string): SagaError {
  return new SagaError(
    'BAD_HEADER',
    `${path ? `${path}: ` : ''}the PLY header is invalid (${what}). Re-export the scene from its training tool or editor.`,
    path ? { path } : undefined,
  );
}

/** Where the header ends (offset just past `end_header` and its newline), or -1 if not within `bytes`. */
export function findHeaderEnd(bytes: Uint8Array): number {
  // Search for "end_header" then its line ending; a linear scan is cheap on the first KBs.
  const marker = [101, 110, 100, 95, 104, 101, 97, 100, 101, 114]; // "end_header"
  const limit = Math.min(bytes.length, MAX_PLY_HEADER_BYTES);
  outer: for (let i = 0; i + marker.length <= limit; i++) {
    for (let k = 0; k < marker.length; k++) if (bytes[i + k] !== marker[k]) continue outer;
    let j = i + marker.length;
    while (j < bytes.length && (bytes[j] === 32 || bytes[j] === 13)) j++;
    if (j < bytes.length && bytes[j] === 10) return j + 1;
    return -1;
  }
  return -1;
}

export function isPlyMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x70 && bytes[1] === 0x6c && bytes[2] === 0x79 && (bytes[3] === 10 || bytes[3] === 13);
}

/**
 * Parses the header at the start of `bytes` (which must contain all of it).
 * @throws SagaError BAD_HEADER / TRUNCATED with a message naming the problem.
 */
export function parsePlyHeader(bytes: Uint8Array, path?: string): PlyHeader {
  if (!isPlyMagic(bytes)) throw badHeader("it does not start with the 'ply' magic line", path);
  const end = findHeaderEnd(bytes);
  if (end < 0) {
    if (bytes.length < MAX_PLY_HEADER_BYTES) {
      throw new SagaError('TRUNCATED', `${path ? `${path}: ` : ''}the PLY file ends inside its header (no 'end_header' line). The file is truncated or not a PLY file; copy or export it again.`, path ? { path } : undefined);
    }
    throw badHeader(`no 'end_header' within the first ${MAX_PLY_HEADER_BYTES} bytes`, path);
  }
  const text = new TextDecoder('latin1').decode(bytes.subarray(0, end));
  const lines = text.split(/\r?\n/);
  let encoding: PlyEncoding | undefined;
  const comments: string[] = [];
  const elements: PlyElement[] = [];
  for (let li = 1; li < lines.length; li++) {
    const line = lines[li]!.trim();
    if (line === '' ) continue;
    const parts = line.split(/\s+/);
    const keyword = parts[0];
    if (keyword === 'end_header') break;
    switch (keyword) {
      case 'format': {
        const f = parts[1];
        if (f !== 'binary_little_endian' && f !== 'binary_big_endian' && f !== 'ascii') throw badHeader(`unknown format '${f ?? ''}'`, path);
        if (parts[2] !== '1.0') throw badHeader(`unsupported PLY version '${parts[2] ?? ''}'`, path);
        encoding = f;
        break;
      }
      case 'comment':
      case 'obj_info':
        comments.push(line.slice(keyword.length).trim());
        break;
      case 'element': {
        const name = parts[1];
        const countText = parts[2] ?? '';
        if (!name || parts.length !== 3 || !/^\d+$/.test(countText)) throw badHeader(`malformed element line '${line.slice(0, 80)}'`, path);
        const count = Number(countText);
        if (!Number.isSafeInteger(count)) throw badHeader(`element '${name}' count ${countText} is not a usable number`, path);
        elements.push({ name, count, properties: [] });
        break;
      }
      case 'property': {
        const element = elements[elements.length - 1];
        if (!element) throw badHeader('a property appears before any element', path);
        if (parts[1] === 'list') {
          const countType = TYPE_ALIASES[parts[2] ?? ''];
          const itemType = TYPE_ALIASES[parts[3] ?? ''];
          const name = parts[4];
          if (!countType || !itemType || !name || parts.length !== 5) throw badHeader(`malformed list property '${line.slice(0, 80)}'`, path);
          element.properties.push({ name, type: itemType, list: { countType, itemType } });
        } else {
          const type = TYPE_ALIASES[parts[1] ?? ''];
          const name = parts[2];
          if (!type || !name || parts.length !== 3) throw badHeader(`malformed property line '${line.slice(0, 80)}'`, path);
          if (element.properties.some((p) => p.name === name)) throw badHeader(`property '${name}' appears twice in element '${element.name}'`, path);
          element.properties.push({ name, type });
        }
        break;
      }
      default:
        throw badHeader(`unknown header keyword '${(keyword ?? '').slice(0, 40)}'`, path);
    }
  }
  if (!encoding) throw badHeader("no 'format' line", path);
  return { encoding, comments, elements, headerBytes: end };
}

/** Bytes per row of a binary element, or undefined if it has list properties (variable size). */
export function plyRowBytes(element: PlyElement): number | undefined {
  let n = 0;
  for (const p of element.properties) {
    if (p.list) return undefined;
    n += PLY_TYPE_SIZE[p.type];
  }
  return n;
}
