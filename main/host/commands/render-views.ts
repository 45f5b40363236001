import { existsSync } from 'node:fs';
import { copyFile, link, mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { SagaError } from '../../contract/errors.ts';
import { type Command, parseCommandArgs } from '../command.ts';
import { readScene } from '../../scene/io.ts';
import { writeInriaCameras } from '../../scene/cameras/index.ts';
import { EngineClient } from '../engine-client.ts';
import { orbitCameras } from '../../engine/raster/orbit.ts';
import { writePng } from '../../engine/raster/images.ts';
import { parseBackground } from './render.ts';

const HELP = `Usage: saga-studio render-views <scene> --orbit <N> --out <folder> [options]

Renders N views on a ring around the scene (looking at its robust centre from slightly above) and
writes them in the INRIA layout, so a scene without photos gets training views:
  <folder>/images/orbit-<i>.png
  <folder>/cameras.json
  <folder>/<scene file>      the scene itself (a hard link, or a copy across file systems)
The folder is then a capture a project can be made from: saga-studio import <folder> --project <dir>,
or New Project from… in the editor.

Options:
  --orbit <N>           number of views (required)
  --out <folder>        output folder (created if missing)
  --width <px>          image width (default 800)
  --height <px>         image height (default 3/4 of the width)
  --elevation <deg>     ring elevation above the centre (default 20)
  --background r,g,b    background colour, 0..1 each (default 0,0,0)
  -h, --help            show this help

Example:
  saga-studio render-views scene.ply --orbit 24 --out views --width 400
`;

/**
 * Puts the scene beside its views so the folder imports as a capture: a hard link (no space, and
 * the same bytes, so the project's checksum holds), else a copy. A file already there is kept.
 */
async function placeScene(scene: string, folder: string): Promise<string> {
  const target = join(folder, basename(scene));
  if (target === scene || existsSync(target)) return target;
  try {
    await link(scene, target);
  } catch (e) {
    // Another file system (EXDEV) or one without hard links: copy instead.
    if (!(e instanceof Error && 'code' in e)) throw e;
    await copyFile(scene, target);
  }
  return target;
}

const renderViews: Command = {
  name: 'render-views',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs('render-views', args, {
      orbit: { type: 'string' },
      out: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      elevation: { type: 'string' },
      background: { type: 'string' },
    });
    if (positionals.length !== 1) throw new SagaError('BAD_ARGUMENT', `expected one scene file, got ${positionals.length}. See 'saga-studio render-views --help'.`);
    const n = Number(values.orbit);
    if (!Number.isInteger(n) || n < 1 || n > 10000) throw new SagaError('BAD_ARGUMENT', "--orbit must be a number of views from 1 to 10000. See 'saga-studio render-views --help'.");
    if (!values.out) throw new SagaError('BAD_ARGUMENT', "--out is required. See 'saga-studio render-views --help'.");
    const width = values.width === undefined ? 800 : Number(values.width);
    const height = values.height === undefined ? Math.round((width * 3) / 4) : Number(values.height);
    for (const [name, v] of [['width', width], ['height', height]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 16384) throw new SagaError('BAD_ARGUMENT', `--${name} must be a whole number of pixels from 1 to 16384.`);
    }
    const elevation = values.elevation === undefined ? 20 : Number(values.elevation);
    if (!(elevation > -90 && elevation < 90)) throw new SagaError('BAD_ARGUMENT', '--elevation must be between -90 and 90 degrees.');
    const background = parseBackground(values.background);
    const scene = await readScene(positionals[0]!);
    const folder = resolve(values.out);
    const imagesDir = join(folder, 'images');
    await mkdir(imagesDir, { recursive: true });
    const cameras = orbitCameras(scene, n, { width, height, elevationDegrees: elevation });
    const client = await EngineClient.start();
    try {
      await client.loadScene(scene);
      for (const [i, camera] of cameras.entries()) {
        const out = await client.render(camera, { background });
        const file = join(imagesDir, `${camera.name}.png`);
        await writePng(file, out.color, out.width, out.height);
        camera.imagePath = join('images', `${camera.name}.png`);
        io.stderr(`render-views: ${i + 1}/${n} ${camera.name}\n`);
      }
    } finally {
      await client.close();
    }
    await writeInriaCameras(cameras, join(folder, 'cameras.json'));
    const scenePath = await placeScene(resolve(positionals[0]!), folder);
    io.stdout(`wrote ${n} views to ${imagesDir} and ${join(folder, 'cameras.json')}; the scene is ${scenePath}\n`);
    return 0;
  },
};

export default renderViews;
