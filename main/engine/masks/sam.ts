/**
 * Segment Anything on onnxruntime-node: the image encoder (image -> 256 x 64 x 64 embedding) and the
 * prompt decoder of segment-anything's ONNX export (scripts/export_onnx_model.py), whose inputs are
 * image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size and whose
 * outputs are masks (logits at the original image size), iou_predictions and low_res_masks.
 *
 * Pre-processing follows SamPredictor.set_image exactly: resize the longest side to 1024 (PIL
 * bilinear), normalise with SAM's pixel mean/std (on 0..255 values), pad bottom/right with zeros to
 * 1024 x 1024, NCHW float32. Exports that fold pre-processing into the graph (samexporter's
 * "input_image": resized HWC float 0..255) are supported through `EncoderConvention.layout`.
 */
import { existsSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { SagaError } from '../../contract/errors.ts';
import { longestSideShape, resizeChannels, type RgbImage } from './image.ts';

export const SAM_PIXEL_MEAN: readonly [number, number, number] = [123.675, 116.28, 103.53];
export const SAM_PIXEL_STD: readonly [number, number, number] = [58.395, 57.12, 57.375];
export const SAM_INPUT_SIZE = 1024;
/** The prompt decoder's low-resolution mask side (mask_input / low_res_masks are 256 x 256). */
export const SAM_LOW_RES = 256;

export const DECODER_INPUTS = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'] as const;
export const DECODER_OUTPUTS = ['masks', 'iou_predictions', 'low_res_masks'] as const;

/** How an encoder export expects its image. Mirrors the `encoder.input` object in resources/models.json. */
export interface EncoderConvention {
  /**
   * 'nchw-normalized-padded': [1,3,S,S] float32, normalised and zero-padded (segment-anything's
   * image_encoder exported directly; labelme's exports).
   * 'hwc-resized-raw': [h,w,3] float32 0..255, longest side resized to S, no padding (samexporter).
   */
  layout: 'nchw-normalized-padded' | 'hwc-resized-raw';
  size: number;
  pixelMean: readonly number[];
  pixelStd: readonly number[];
  /** Input and output names; undefined means the session's first input / output. */
  inputName?: string;
  outputName?: string;
}

export const SAM_DEFAULT_CONVENTION: EncoderConvention = {
  layout: 'nchw-normalized-padded',
  size: SAM_INPUT_SIZE,
  pixelMean: SAM_PIXEL_MEAN,
  pixelStd: SAM_PIXEL_STD,
};

export interface SamModelFiles {
  id: string;
  encoderPath: string;
  decoderPath: string;
  convention: EncoderConvention;
}

/** The encoder's output for one view, with what the decoder needs to map coordinates. */
export interface SamEmbedding {
  /** C x H x W float32 (256 x 64 x 64 for every SAM-family model). */
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
  /** Original image size and the resized size inside the 1024 frame. */
  imageWidth: number;
  imageHeight: number;
  inputWidth: number;
  inputHeight: number;
}

export interface SamPoint {
  x: number;
  y: number;
  /** 1 foreground, 0 background. */
  label: 0 | 1;
}

export interface SamPrompt {
  /** Points in original image pixel coordinates. */
  points?: SamPoint[];
  /** Box x0, y0, x1, y1 in original image pixel coordinates. */
  box?: [number, number, number, number];
  /** A previous low-res mask logit map (256 x 256) to refine. */
  maskInput?: Float32Array;
}

/** Decoder output: `count` mask logit maps at the original image size, best-first order is NOT applied. */
export interface SamDecoded {
  count: number;
  width: number;
  height: number;
  /** count x height x width logits; inside = logit > 0 (SAM's mask_threshold). */
  logits: Float32Array;
  iou: Float32Array;
  /** count x 256 x 256 low-resolution logits, usable as a later maskInput. */
  lowRes: Float32Array;
}

/**
 * Image to the encoder's input tensor. Pure: returns data and dims. For the NCHW layout the padded
 * area is 0 (zero after normalisation, as SAM pads the normalised tensor).
 */
export function preprocessImage(img: RgbImage, conv: EncoderConvention): { data: Float32Array; dims: number[]; inputWidth: number; inputHeight: number } {
  const { width: rw, height: rh } = longestSideShape(img.width, img.height, conv.size);
  const resized = resizeChannels(img.data, img.width, img.height, 3, rw, rh);
  if (conv.layout === 'hwc-resized-raw') {
    // PIL rounds resized samples to bytes; keep that so both layouts see the same pixels.
    for (let i = 0; i < resized.length; i++) resized[i] = Math.min(255, Math.max(0, Math.round(resized[i]!)));
    return { data: resized, dims: [rh, rw, 3], inputWidth: rw, inputHeight: rh };
  }
  const S = conv.size;
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    const mean = conv.pixelMean[c]!;
    const std = conv.pixelStd[c]!;
    const plane = c * S * S;
    for (let y = 0; y < rh; y++) {
      for (let x = 0; x < rw; x++) {
        const v = Math.min(255, Math.max(0, Math.round(resized[(y * rw + x) * 3 + c]!)));
        out[plane + y * S + x] = (v - mean) / std;
      }
    }
  }
  return { data: out, dims: [1, 3, S, S], inputWidth: rw, inputHeight: rh };
}

/**
 * Decoder inputs for a prompt, as SamPredictor / the ONNX example build them: coordinates scaled
 * into the resized frame; without a box a padding point (0,0) with label -1 is appended; a box adds
 * its corners with labels 2 and 3.
 */
export function promptTensors(prompt: SamPrompt, emb: Pick<SamEmbedding, 'imageWidth' | 'imageHeight' | 'inputWidth' | 'inputHeight'>): {
  coords: Float32Array;
  labels: Float32Array;
  count: number;
} {
  const sx = emb.inputWidth / emb.imageWidth;
  const sy = emb.inputHeight / emb.imageHeight;
  const coords: number[] = [];
  const labels: number[] = [];
  for (const p of prompt.points ?? []) {
    coords.push(p.x * sx, p.y * sy);
    labels.push(p.label);
  }
  if (prompt.box) {
    const [x0, y0, x1, y1] = prompt.box;
    coords.push(x0 * sx, y0 * sy, x1 * sx, y1 * sy);
    labels.push(2, 3);
  } else {
    coords.push(0, 0);
    labels.push(-1);
  }
  return { coords: Float32Array.from(coords), labels: Float32Array.from(labels), count: labels.length };
}

function modelError(code: 'MODEL_NOT_FOUND' | 'MODEL_INVALID', message: string, path: string, cause?: unknown): SagaError {
  return new SagaError(code, message, { path }, { cause });
}

async function openSession(path: string, role: 'encoder' | 'decoder', threads: number): Promise<ort.InferenceSession> {
  if (!existsSync(path)) {
    throw modelError(
      'MODEL_NOT_FOUND',
      `The SAM ${role} model ${path} does not exist. Download a model (see resources/models.json) or pass --model with a folder holding an encoder and a decoder .onnx file.`,
      path,
    );
  }
  try {
    return await ort.InferenceSession.create(path, { executionProviders: ['cpu'], intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  } catch (e) {
    throw modelError(
      'MODEL_INVALID',
      `The SAM ${role} model ${path} cannot be loaded by ONNX Runtime (${e instanceof Error ? e.message.split('\n')[0] : String(e)}). The file is corrupt or not an ONNX model: delete it and download it again.`,
      path,
      e,
    );
  }
}

/** A loaded SAM encoder + prompt decoder pair. Sessions run on ONNX Runtime's own threads. */
export class SamPredictor {
  private constructor(
    readonly files: SamModelFiles,
    private readonly encoder: ort.InferenceSession,
    private readonly decoder: ort.InferenceSession,
  ) {}

  static async load(files: SamModelFiles, options: { threads?: number } = {}): Promise<SamPredictor> {
    const threads = options.threads ?? 0;
    const encoder = await openSession(files.encoderPath, 'encoder', threads);
    const decoder = await openSession(files.decoderPath, 'decoder', threads).catch(async (e: unknown) => {
      await encoder.release();
      throw e;
    });
    const missingIn = DECODER_INPUTS.filter((n) => !decoder.inputNames.includes(n));
    const missingOut = DECODER_OUTPUTS.filter((n) => !decoder.outputNames.includes(n));
    const conv = files.convention;
    const badEncoder = (conv.inputName && !encoder.inputNames.includes(conv.inputName)) || (conv.outputName && !encoder.outputNames.includes(conv.outputName));
    if (missingIn.length || missingOut.length || badEncoder) {
      await encoder.release();
      await decoder.release();
      const what = badEncoder
        ? `the encoder lacks input '${conv.inputName}' or output '${conv.outputName}' (it has ${encoder.inputNames.join(', ')} -> ${encoder.outputNames.join(', ')})`
        : `the decoder lacks ${[...missingIn, ...missingOut].join(', ')}`;
      throw modelError(
        'MODEL_INVALID',
        `The SAM model '${files.id}' is not a segment-anything ONNX export: ${what}. Use a model from the registry or one exported with segment-anything's export_onnx_model.py.`,
        badEncoder ? files.encoderPath : files.decoderPath,
      );
    }
    return new SamPredictor(files, encoder, decoder);
  }

  /** Runs the encoder on one image. */
  async embed(img: RgbImage): Promise<SamEmbedding> {
    const conv = this.files.convention;
    const input = preprocessImage(img, conv);
    const inputName = conv.inputName ?? this.encoder.inputNames[0]!;
    const outputName = conv.outputName ?? this.encoder.outputNames[0]!;
    const result = await this.encoder.run({ [inputName]: new ort.Tensor('float32', input.data, input.dims) });
    const out = result[outputName];
    if (!out || out.type !== 'float32' || out.dims.length !== 4) {
      throw modelError('MODEL_INVALID', `The SAM encoder '${this.files.id}' did not return a float32 C x H x W embedding. Use a model from the registry.`, this.files.encoderPath);
    }
    const [, c, h, w] = out.dims as number[];
    return {
      data: new Float32Array(out.data as Float32Array),
      channels: c!,
      height: h!,
      width: w!,
      imageWidth: img.width,
      imageHeight: img.height,
      inputWidth: input.inputWidth,
      inputHeight: input.inputHeight,
    };
  }

  /**
   * Runs the prompt decoder. With `multimask` the three multimask outputs are returned (SAM's
   * multimask_output=True drops the single-mask token at index 0 of a 4-mask export); otherwise only
   * the single-mask output.
   */
  async decode(emb: SamEmbedding, prompt: SamPrompt, multimask = true, outputSize?: { width: number; height: number }): Promise<SamDecoded> {
    // The export resizes its masks to orig_im_size after cropping to the resized frame it derives
    // from that same size, so a smaller size with the image's aspect ratio yields the same masks at
    // a lower resolution (the automatic generator uses this to bound memory on large views).
    const outW = outputSize?.width ?? emb.imageWidth;
    const outH = outputSize?.height ?? emb.imageHeight;
    const { coords, labels, count } = promptTensors(prompt, emb);
    const maskInput = prompt.maskInput ?? new Float32Array(SAM_LOW_RES * SAM_LOW_RES);
    const feeds: Record<string, ort.Tensor> = {
      image_embeddings: new ort.Tensor('float32', emb.data, [1, emb.channels, emb.height, emb.width]),
      point_coords: new ort.Tensor('float32', coords, [1, count, 2]),
      point_labels: new ort.Tensor('float32', labels, [1, count]),
      mask_input: new ort.Tensor('float32', maskInput, [1, 1, SAM_LOW_RES, SAM_LOW_RES]),
      has_mask_input: new ort.Tensor('float32', Float32Array.of(prompt.maskInput ? 1 : 0), [1]),
      orig_im_size: new ort.Tensor('float32', Float32Array.of(outH, outW), [2]),
    };
    const r = await this.decoder.run(feeds);
    const masks = r.masks;
    const iou = r.iou_predictions;
    const low = r.low_res_masks;
    if (!masks || !iou || !low || masks.dims.length !== 4) {
      throw modelError('MODEL_INVALID', `The SAM decoder '${this.files.id}' returned unexpected outputs. Use a model from the registry.`, this.files.decoderPath);
    }
    const [, n, h, w] = masks.dims as number[];
    if (h !== outH || w !== outW) {
      throw modelError('MODEL_INVALID', `The SAM decoder '${this.files.id}' returned ${w}x${h} masks where ${outW}x${outH} were asked for. Use a model from the registry.`, this.files.decoderPath);
    }
    const all = masks.data as Float32Array;
    const allIou = iou.data as Float32Array;
    const allLow = low.data as Float32Array;
    const plane = h! * w!;
    const lowPlane = SAM_LOW_RES * SAM_LOW_RES;
    // A 4-mask export holds [single, multi1, multi2, multi3]; other counts are taken as they come.
    const pick = n === 4 ? (multimask ? [1, 2, 3] : [0]) : multimask ? Array.from({ length: n! }, (_, i) => i) : [0];
    const logits = new Float32Array(pick.length * plane);
    const lowRes = new Float32Array(pick.length * lowPlane);
    const scores = new Float32Array(pick.length);
    pick.forEach((src, dst) => {
      logits.set(all.subarray(src * plane, (src + 1) * plane), dst * plane);
      lowRes.set(allLow.subarray(src * lowPlane, (src + 1) * lowPlane), dst * lowPlane);
      scores[dst] = allIou[src]!;
    });
    return { count: pick.length, width: w!, height: h!, logits, iou: scores, lowRes };
  }

  async close(): Promise<void> {
    await this.encoder.release();
    await this.decoder.release();
  }
}
