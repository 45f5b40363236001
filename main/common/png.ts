/**
 * PNG encoding and decoding for the whole app, on fast-png (pure JS, no native code):
 * 8-bit RGB, RGBA and grey pictures, and 16-bit grey for label maps (pixel value = object id).
 * Pure functions on bytes; callers read and write the files.
 */
import { convertIndexedToRgb, decode, encode, type DecodedPng } from 'fast-png';

export type { DecodedPng };

/** True when `bytes` start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
}

/** 8-bit RGB, row-major, 3 bytes per pixel. */
export function encodeRgbPng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}

/** 8-bit RGBA, row-major, 4 bytes per pixel, straight (not premultiplied) alpha. */
export function encodeRgbaPng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: rgba, channels: 4, depth: 8 });
}

/** 8-bit greyscale, one byte per pixel. */
export function encodeGreyPng(grey: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: grey, channels: 1, depth: 8 });
}

/** 16-bit greyscale, for label maps whose ids exceed 255. */
export function encodeGrey16Png(grey: Uint16Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: grey, channels: 1, depth: 16 });
}

/** Decodes any PNG fast-png reads; throws fast-png's error, which callers wrap with the file name. */
export function decodePng(bytes: Uint8Array): DecodedPng {
  return decode(bytes);
}

/** Palette images expanded to RGB(A); the channel count is the palette entry length. */
export function expandPalette(png: DecodedPng): { data: DecodedPng['data']; channels: number } {
  if (!png.palette) return { data: png.data, channels: png.channels };
  return { data: convertIndexedToRgb(png), channels: png.palette[0]?.length ?? 3 };
}
