/**
 * Tiny stand-ins for SAM's ONNX encoder and decoder with exactly their input and output names and
 * shapes, built in the test setup (no weights). Their outputs are simple known functions of the
 * inputs so tests can assert exact answers:
 *
 * Encoder: image [1,3,1024,1024] -> AveragePool 16x16 -> 1x1 Conv -> image_embeddings [1,256,64,64],
 * where channel c = (1 + c/256) * mean of the three normalised colour planes in each 16x16 cell.
 *
 * Decoder: for the first prompt point p (in the 1024 frame), low-res logit of mask m at low-res
 * pixel centre q (in the 1024 frame) is K[m] * (R[m]^2 - |q - p|^2) + 0.001 * embedding mean
 * + mask_input * has_mask_input. masks = the low-res logits upsampled to 1024 (bilinear, half
 * pixel), cropped to the resized image, resized to orig_im_size, exactly like the export's
 * mask_postprocessing. iou_predictions are the constants IOU.
 */
import { encodeModel, f32, i64, int, ints, str, DataType, type NodeSpec } from '../../onnx/model-writer.ts';

/** Radii in the 1024 frame of the four masks: [single, multi1, multi2, multi3]. */
export const TINY_RADII = [100, 60, 150, 300] as const;
/** Logit slopes: mask 2 is soft (unstable under SAM's stability score), the others sharp. */
export const TINY_SLOPES = [0.05, 0.05, 0.0005, 0.05] as const;
export const TINY_IOU = [0.5, 0.97, 0.93, 0.8] as const;

export function tinySamEncoder(inputName = 'image'): Uint8Array {
  const w = new Float32Array(256 * 3);
  for (let c = 0; c < 256; c++) for (let k = 0; k < 3; k++) w[c * 3 + k] = (1 + c / 256) / 3;
  return encodeModel({
    name: 'tiny_sam_encoder',
    inputs: [{ name: inputName, elemType: DataType.FLOAT, shape: [1, 3, 1024, 1024] }],
    outputs: [{ name: 'image_embeddings', elemType: DataType.FLOAT, shape: [1, 256, 64, 64] }],
    initializers: [f32('W', w, [256, 3, 1, 1]), f32('B', new Float32Array(256), [256])],
    nodes: [
      { op: 'AveragePool', inputs: [inputName], outputs: ['pooled'], attributes: { kernel_shape: ints([16, 16]), strides: ints([16, 16]) } },
      { op: 'Conv', inputs: ['pooled', 'W', 'B'], outputs: ['image_embeddings'] },
    ],
  });
}

/**
 * A tiny encoder whose embedding tells colours apart, for tests that train on its features (the
 * SAM-based prompt): channel c is the 16x16 cell mean of colour plane c % 3 (normalised), with sign
 * + for c < 128 and - above. tinySamEncoder's channels are all one brightness, which the
 * projection MLP's LayerNorm reduces to its sign.
 */
export function tinySamEncoderColour(inputName = 'image'): Uint8Array {
  const w = new Float32Array(256 * 3);
  for (let c = 0; c < 256; c++) w[c * 3 + (c % 3)] = c < 128 ? 1 : -1;
  return encodeModel({
    name: 'tiny_sam_encoder_colour',
    inputs: [{ name: inputName, elemType: DataType.FLOAT, shape: [1, 3, 1024, 1024] }],
    outputs: [{ name: 'image_embeddings', elemType: DataType.FLOAT, shape: [1, 256, 64, 64] }],
    initializers: [f32('W', w, [256, 3, 1, 1]), f32('B', new Float32Array(256), [256])],
    nodes: [
      { op: 'AveragePool', inputs: [inputName], outputs: ['pooled'], attributes: { kernel_shape: ints([16, 16]), strides: ints([16, 16]) } },
      { op: 'Conv', inputs: ['pooled', 'W', 'B'], outputs: ['image_embeddings'] },
    ],
  });
}

/**
 * The same encoder as a samexporter-style export: input "input_image" [h, w, 3] float 0..255 (the
 * longest side already resized to 1024), normalised, transposed and zero-padded inside the graph.
 * Its embedding must equal tinySamEncoder's for the same image.
 */
export function tinySamEncoderHwc(): Uint8Array {
  const w = new Float32Array(256 * 3);
  for (let c = 0; c < 256; c++) for (let k = 0; k < 3; k++) w[c * 3 + k] = (1 + c / 256) / 3;
  return encodeModel({
    name: 'tiny_sam_encoder_hwc',
    inputs: [{ name: 'input_image', elemType: DataType.FLOAT, shape: ['h', 'w', 3] }],
    outputs: [{ name: 'image_embeddings', elemType: DataType.FLOAT, shape: [1, 256, 64, 64] }],
    initializers: [
      f32('MEAN', [123.675, 116.28, 103.53], [3]),
      f32('STD', [58.395, 57.12, 57.375], [3]),
      i64('axis0', [0]),
      i64('hw_start', [0]),
      i64('hw_end', [2]),
      i64('c1024', [1024, 1024]),
      i64('zeros6', [0, 0, 0, 0, 0, 0]),
      f32('W', w, [256, 3, 1, 1]),
      f32('B', new Float32Array(256), [256]),
    ],
    nodes: [
      { op: 'Sub', inputs: ['input_image', 'MEAN'], outputs: ['centred'] },
      { op: 'Div', inputs: ['centred', 'STD'], outputs: ['normalised'] },
      { op: 'Transpose', inputs: ['normalised'], outputs: ['chw'], attributes: { perm: ints([2, 0, 1]) } },
      { op: 'Unsqueeze', inputs: ['chw', 'axis0'], outputs: ['nchw'] },
      { op: 'Shape', inputs: ['input_image'], outputs: ['shape'] },
      { op: 'Slice', inputs: ['shape', 'hw_start', 'hw_end'], outputs: ['hw'] },
      { op: 'Sub', inputs: ['c1024', 'hw'], outputs: ['pad_hw'] },
      { op: 'Concat', inputs: ['zeros6', 'pad_hw'], outputs: ['pads'], attributes: { axis: int(0) } },
      { op: 'Pad', inputs: ['nchw', 'pads'], outputs: ['padded'], attributes: { mode: str('constant') } },
      { op: 'AveragePool', inputs: ['padded'], outputs: ['pooled'], attributes: { kernel_shape: ints([16, 16]), strides: ints([16, 16]) } },
      { op: 'Conv', inputs: ['pooled', 'W', 'B'], outputs: ['image_embeddings'] },
    ],
  });
}

export function tinySamDecoder(): Uint8Array {
  const gx = new Float32Array(256);
  for (let j = 0; j < 256; j++) gx[j] = (j + 0.5) * 4;
  const linear = { mode: str('linear'), coordinate_transformation_mode: str('half_pixel') };
  const nodes: NodeSpec[] = [
    // Embedding term, upsampled to the low-res grid.
    { op: 'ReduceMean', inputs: ['image_embeddings'], outputs: ['emb_mean'], attributes: { axes: ints([1]), keepdims: int(1) } },
    { op: 'Resize', inputs: ['emb_mean', '', 'scales4'], outputs: ['emb_up'], attributes: linear },
    { op: 'Mul', inputs: ['emb_up', 'emb_weight'], outputs: ['emb_term'] },
    // First prompt point.
    { op: 'Slice', inputs: ['point_coords', 'px_start', 'px_end', 'axes012'], outputs: ['px3'] },
    { op: 'Slice', inputs: ['point_coords', 'py_start', 'py_end', 'axes012'], outputs: ['py3'] },
    { op: 'Reshape', inputs: ['px3', 'shape1111'], outputs: ['px'] },
    { op: 'Reshape', inputs: ['py3', 'shape1111'], outputs: ['py'] },
    { op: 'Sub', inputs: ['GX', 'px'], outputs: ['dx'] },
    { op: 'Sub', inputs: ['GY', 'py'], outputs: ['dy'] },
    { op: 'Mul', inputs: ['dx', 'dx'], outputs: ['dx2'] },
    { op: 'Mul', inputs: ['dy', 'dy'], outputs: ['dy2'] },
    { op: 'Add', inputs: ['dx2', 'dy2'], outputs: ['d2'] },
    { op: 'Sub', inputs: ['R2', 'd2'], outputs: ['rd'] },
    { op: 'Mul', inputs: ['rd', 'K'], outputs: ['disc'] },
    // Labels and the previous mask take part, so every input is used.
    { op: 'ReduceSum', inputs: ['point_labels'], outputs: ['label_sum'], attributes: { keepdims: int(0) } },
    { op: 'Mul', inputs: ['label_sum', 'zero'], outputs: ['label_term'] },
    { op: 'Reshape', inputs: ['has_mask_input', 'shape1111'], outputs: ['has_mask4'] },
    { op: 'Mul', inputs: ['mask_input', 'has_mask4'], outputs: ['mask_term'] },
    { op: 'Add', inputs: ['disc', 'emb_term'], outputs: ['l1'] },
    { op: 'Add', inputs: ['l1', 'mask_term'], outputs: ['l2'] },
    { op: 'Add', inputs: ['l2', 'label_term'], outputs: ['low_res_masks'] },
    // mask_postprocessing: upsample to 1024, crop to the resized image, resize to the original size.
    { op: 'Resize', inputs: ['low_res_masks', '', 'scales4'], outputs: ['up1024'], attributes: linear },
    { op: 'ReduceMax', inputs: ['orig_im_size'], outputs: ['long_side'], attributes: { keepdims: int(1) } },
    { op: 'Div', inputs: ['c1024', 'long_side'], outputs: ['scale'] },
    { op: 'Mul', inputs: ['orig_im_size', 'scale'], outputs: ['scaled'] },
    { op: 'Add', inputs: ['scaled', 'half'], outputs: ['scaled_half'] },
    { op: 'Floor', inputs: ['scaled_half'], outputs: ['resized_f'] },
    { op: 'Cast', inputs: ['resized_f'], outputs: ['resized_i'], attributes: { to: int(DataType.INT64) } },
    { op: 'Concat', inputs: ['lead14', 'resized_i'], outputs: ['crop_end'], attributes: { axis: int(0) } },
    { op: 'Slice', inputs: ['up1024', 'zeros4', 'crop_end'], outputs: ['cropped'] },
    { op: 'Cast', inputs: ['orig_im_size'], outputs: ['orig_i'], attributes: { to: int(DataType.INT64) } },
    { op: 'Concat', inputs: ['lead14', 'orig_i'], outputs: ['out_sizes'], attributes: { axis: int(0) } },
    { op: 'Resize', inputs: ['cropped', '', '', 'out_sizes'], outputs: ['masks'], attributes: linear },
    { op: 'Identity', inputs: ['IOU'], outputs: ['iou_predictions'] },
  ];
  return encodeModel({
    name: 'tiny_sam_decoder',
    inputs: [
      { name: 'image_embeddings', elemType: DataType.FLOAT, shape: [1, 256, 64, 64] },
      { name: 'point_coords', elemType: DataType.FLOAT, shape: [1, 'num_points', 2] },
      { name: 'point_labels', elemType: DataType.FLOAT, shape: [1, 'num_points'] },
      { name: 'mask_input', elemType: DataType.FLOAT, shape: [1, 1, 256, 256] },
      { name: 'has_mask_input', elemType: DataType.FLOAT, shape: [1] },
      { name: 'orig_im_size', elemType: DataType.FLOAT, shape: [2] },
    ],
    outputs: [
      { name: 'masks', elemType: DataType.FLOAT, shape: [1, 4, 'h', 'w'] },
      { name: 'iou_predictions', elemType: DataType.FLOAT, shape: [1, 4] },
      { name: 'low_res_masks', elemType: DataType.FLOAT, shape: [1, 4, 256, 256] },
    ],
    initializers: [
      f32('scales4', [1, 1, 4, 4], [4]),
      f32('emb_weight', [0.001], [1]),
      i64('px_start', [0, 0, 0]),
      i64('px_end', [1, 1, 1]),
      i64('py_start', [0, 0, 1]),
      i64('py_end', [1, 1, 2]),
      i64('axes012', [0, 1, 2]),
      i64('shape1111', [1, 1, 1, 1]),
      f32('GX', gx, [1, 1, 1, 256]),
      f32('GY', gx, [1, 1, 256, 1]),
      f32('R2', TINY_RADII.map((r) => r * r), [1, 4, 1, 1]),
      f32('K', TINY_SLOPES, [1, 4, 1, 1]),
      f32('zero', [0], [1]),
      f32('c1024', [1024], [1]),
      f32('half', [0.5], [1]),
      i64('lead14', [1, 4]),
      i64('zeros4', [0, 0, 0, 0]),
      f32('IOU', TINY_IOU, [1, 4]),
    ],
    nodes,
  });
}
