import { resolve } from 'node:path';
import { SagaError } from '../../contract/errors.ts';
import { type Command, parseCommandArgs } from '../command.ts';
import { readScene } from '../../scene/io.ts';
import { isProjectDir, openProject } from '../../project/store.ts';
import { readCameras } from '../../scene/cameras/index.ts';
import { resolveScenePath } from '../../scene/scene-folder.ts';
import { findTrainingOutput } from '../../scene/training-output.ts';
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { EngineClient } from '../engine-client.ts';
import { orbitCamera } from '../../engine/raster/orbit.ts';
import { featuresToPcaColors, writePng } from '../../engine/raster/images.ts';
import { sceneFeatures } from '../../scene/feature-properties.ts';

const HELP = `Usage: saga-studio render <scene | folder | project> --camera <spec> --out <image.png> [options]

Renders one view of a Gaussian splat scene on the GPU (WebGPU; on a machine without a GPU, Mesa's
lavapipe Vulkan driver) and writes a PNG. A folder stands for its scene (a 3DGS training output's
latest point cloud, or a folder's one scene file), and its cameras can be named directly; a
project stands for its source scene and its training views.

Camera (--camera):
  <cameras.json|COLMAP folder>#<index|name>   a view of a camera file (index from 0, or image name)
  <index|name>                                a view of the folder's own cameras, or of the project's
  orbit:<i>/<n>                               view i of n on a ring around the scene

Options:
  --out <file.png>        output image (required)
  --width <px>            output width (default: the camera's; orbit: 800)
  --height <px>           output height (default: keeps the camera's aspect ratio)
  --features pca          render per-Gaussian features (PLY properties f_feat_* / feat_*) as colour
                          via their top 3 PCA axes; a scene without features is refused
  --background r,g,b      background colour, 0..1 each (default 0,0,0)
  --sh-degree <0-3>       highest spherical-harmonics degree used for colour
  -h, --help              show this help

Examples:
  saga-studio render scene.ply --camera orbit:0/8 --out view.png --width 640
  saga-studio render point_cloud.ply --camera cameras.json#12 --out view12.png
  saga-studio render output/garden --camera DSC_0042 --out view.png
  saga-studio render my-project --camera 12 --out view12.png
`;

/** A project's source scene and its training views (render takes a project like a folder). */
async function projectTarget(dir: string): Promise<{ scenePath: string; scene: GaussianScene; views: Camera[] }> {
  const project = openProject(dir, { access: 'read' });
  try {
    const scenePath = project.sceneSource().scenePath;
    return { scenePath, scene: await readScene(scenePath), views: project.views().map((v) => v.camera) };
  } finally {
    project.close();
  }
}

/** A project's training view by name or index (the bare --camera form with a project). */
function projectView(spec: string, views: Camera[], project: string): Camera {
  const camera = views.find((c) => c.name === spec) ?? (/^\d+$/.test(spec) ? views[Number(spec)] : undefined);
  if (!camera) {
    const names = views.slice(0, 5).map((c) => c.name).join(', ');
    throw new SagaError('BAD_ARGUMENT', `The project ${project} has no view '${spec}' (${views.length} views${views.length ? `, indices 0-${views.length - 1}: ${names}${views.length > 5 ? ', …' : ''}` : ''}). Use a view name or index, orbit:i/n, or <cameras file>#<view>.`);
  }
  return camera;
}

/**
 * Resolves a --camera spec (see HELP) for a scene. `folder`: the folder the scene was given as,
 * whose own cameras a bare view name or index picks from.
 */
export async function resolveCamera(spec: string, scene: GaussianScene, width?: number, height?: number, folder?: string): Promise<Camera> {
  const orbit = /^orbit:(\d+)\/(\d+)$/.exec(spec);
  if (orbit) {
    const i = Number(orbit[1]);
    const n = Number(orbit[2]);
    if (!(n > 0) || i >= n) throw new SagaError('BAD_ARGUMENT', `--camera orbit:i/n needs 0 <= i < n (got ${spec}).`);
    return orbitCamera(scene, i, n, { width: width ?? 800, height });
  }
  const hash = spec.lastIndexOf('#');
  if (hash <= 0 && folder === undefined) {
    throw new SagaError('BAD_ARGUMENT', `--camera must be <cameras file>#<index|name> or orbit:i/n (got '${spec}'). See 'saga-studio render --help'.`);
  }
  const [from, key] = hash > 0 ? [spec.slice(0, hash), spec.slice(hash + 1)] : [folder!, spec];
  const cameras = hash > 0 ? await readCameras(from) : (await findTrainingOutput(from)).cameras;
  const byName = cameras.find((c) => c.name === key);
  const camera = byName ?? (/^\d+$/.test(key) ? cameras[Number(key)] : undefined);
  if (!camera) {
    throw new SagaError('BAD_ARGUMENT', `No camera '${key}' in ${from} (it has ${cameras.length} views, indices 0-${cameras.length - 1}).`);
  }
  return camera;
}

function positiveInt(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 16384) throw new SagaError('BAD_ARGUMENT', `--${name} must be a whole number of pixels from 1 to 16384 (got '${value}').`);
  return n;
}

export function parseBackground(value: string | undefined): [number, number, number] {
  if (value === undefined) return [0, 0, 0];
  const parts = value.split(',').map(Number);
  if (parts.length !== 3 || parts.some((p) => !(p >= 0 && p <= 1))) {
    throw new SagaError('BAD_ARGUMENT', `--background must be three numbers from 0 to 1, like 1,1,1 (got '${value}').`);
  }
  return parts as [number, number, number];
}

const render: Command = {
  name: 'render',
  help: HELP,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs('render', args, {
      camera: { type: 'string' },
      out: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      features: { type: 'string' },
      background: { type: 'string' },
      'sh-degree': { type: 'string' },
    });
    if (positionals.length !== 1) throw new SagaError('BAD_ARGUMENT', `expected one scene file, folder or project, got ${positionals.length}. See 'saga-studio render --help'.`);
    if (!values.camera) throw new SagaError('BAD_ARGUMENT', "--camera is required. See 'saga-studio render --help'.");
    if (!values.out) throw new SagaError('BAD_ARGUMENT', "--out is required. See 'saga-studio render --help'.");
    if (values.features !== undefined && values.features !== 'pca') {
      throw new SagaError('BAD_ARGUMENT', `--features only supports 'pca' (got '${values.features}').`);
    }
    const width = positiveInt(values.width, 'width');
    const height = positiveInt(values.height, 'height');
    const background = parseBackground(values.background);
    const shDegree = values['sh-degree'] === undefined ? undefined : Number(values['sh-degree']);
    if (shDegree !== undefined && !(Number.isInteger(shDegree) && shDegree >= 0 && shDegree <= 3)) {
      throw new SagaError('BAD_ARGUMENT', `--sh-degree must be 0, 1, 2 or 3 (got '${values['sh-degree']}').`);
    }
    const input = resolve(positionals[0]!);
    const project = isProjectDir(input) ? await projectTarget(input) : undefined;
    const scenePath = project?.scenePath ?? (await resolveScenePath(input));
    const scene = project?.scene ?? (await readScene(scenePath));
    // Checked before the engine starts: a PCA image of made-up features would look like a result.
    const features = values.features === 'pca' ? sceneFeatures(scene) : undefined;
    if (values.features === 'pca' && !features) {
      throw new SagaError(
        'BAD_ARGUMENT',
        `${scenePath} has no per-Gaussian features (f_feat_* properties). Train or export features first, or render colour without --features.`,
      );
    }
    const bareView = !/^orbit:/.test(values.camera) && !(values.camera.lastIndexOf('#') > 0);
    const camera = project && bareView
      ? projectView(values.camera, project.views, positionals[0]!)
      : await resolveCamera(values.camera, scene, width, height, project || scenePath === input ? undefined : input);
    const client = await EngineClient.start();
    try {
      await client.loadScene(scene);
      const size = { width: width ?? (height === undefined ? camera.width : undefined), height };
      if (features) {
        const source = features;
        const colors = featuresToPcaColors(source.features, scene.count, source.dim);
        const out = await client.render(camera, { ...size, features: colors, featureDim: 3, shDegree });
        await writePng(values.out, out.features!, out.width, out.height);
        io.stdout(`wrote ${values.out} (${out.width}x${out.height}, features PCA of ${source.dim} channels)\n`);
      } else {
        const out = await client.render(camera, { ...size, background, shDegree });
        await writePng(values.out, out.color, out.width, out.height);
        io.stdout(`wrote ${values.out} (${out.width}x${out.height}, camera ${camera.name})\n`);
      }
    } finally {
      await client.close();
    }
    return 0;
  },
};

export default render;
