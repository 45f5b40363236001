/**
 * Width and height of a PNG or JPEG from its header, without decoding pixels. Needed for Blender
 * synthetic transforms.json files, which give only camera_angle_x and leave the size to the images.
 */
import { open } from 'node:fs/promises';

export interface ImageSize {
  width: number;
  height: number;
}

/** Returns undefined when the file is neither a PNG nor a baseline/progressive JPEG. */
export async function readImageSize(path: string): Promise<ImageSize | undefined> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(32);
    const { bytesRead } = await file.read(head, 0, 32, 0);
    if (bytesRead >= 24 && head.readUInt32BE(0) === 0x89504e47 && head.toString('latin1', 12, 16) === 'IHDR') {
      return { width: head.readUInt32BE(16), height: head.readUInt32BE(20) };
    }
    if (bytesRead >= 4 && head[0] === 0xff && head[1] === 0xd8) return await jpegSize(file);
    return undefined;
  } finally {
    await file.close();
  }
}

async function jpegSize(file: import('node:fs/promises').FileHandle): Promise<ImageSize | undefined> {
  const marker = Buffer.alloc(9);
  let offset = 2;
  // Walk the marker segments until a start-of-frame; each read is 9 bytes, so a large EXIF block
  // costs one seek rather than a full read.
  for (let guard = 0; guard < 10_000; guard++) {
    const { bytesRead } = await file.read(marker, 0, 9, offset);
    if (bytesRead < 4 || marker[0] !== 0xff) return undefined;
    const type = marker[1]!;
    if (type === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    const length = marker.readUInt16BE(2);
    const isStartOfFrame = type >= 0xc0 && type <= 0xcf && type !== 0xc4 && type !== 0xc8 && type !== 0xcc;
    if (isStartOfFrame) {
      if (bytesRead < 9) return undefined;
      return { height: marker.readUInt16BE(5), width: marker.readUInt16BE(7) };
    }
    if (type === 0xd9 || type === 0xda) return undefined; // end of image or scan data before any frame header
    offset += 2 + length;
  }
  return undefined;
}
