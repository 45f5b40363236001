import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, isBinaryFrame } from './binary-frame.ts';

describe('binary message frames', () => {
  it('keeps a message without typed arrays as JSON text', () => {
    const msg = { type: 'request', id: 1, method: 'a.b', params: { path: '/x', list: [1, 2] } };
    const frame = encodeFrame(msg);
    expect(typeof frame).toBe('string');
    expect(decodeFrame(frame)).toEqual(msg);
  });

  it('lifts every typed array into an aligned attachment and gives back views of the same values', () => {
    const f = Float32Array.from([1.5, -2, Number.MAX_VALUE, -0]);
    const u8 = Uint8Array.from([1, 2, 3]);
    const f64 = Float64Array.from([Math.PI]);
    const sub = new Uint16Array([9, 8, 7, 6]).subarray(1, 3);
    const msg = { type: 'response', id: 7, ok: true, result: { f, nested: [{ u8 }, f64], sub, text: '{"$saga:bin":0}' } };
    const frame = encodeFrame(msg);
    expect(frame).toBeInstanceOf(Uint8Array);
    expect(isBinaryFrame(frame as Uint8Array)).toBe(true);
    const back = decodeFrame(frame) as typeof msg;
    expect(back.result.f).toBeInstanceOf(Float32Array);
    expect(Array.from(back.result.f)).toEqual(Array.from(f));
    expect(Object.is(back.result.f[3], -0)).toBe(true);
    expect(Array.from((back.result.nested[0] as { u8: Uint8Array }).u8)).toEqual([1, 2, 3]);
    expect((back.result.nested[1] as Float64Array)[0]).toBe(Math.PI);
    expect(Array.from(back.result.sub)).toEqual([8, 7]);
    expect(back.result.text).toBe('{"$saga:bin":0}');
    // Views share the frame's memory (no copy) when the frame is aligned.
    expect(back.result.f.buffer).toBe((frame as Uint8Array).buffer);
  });

  it('copies attachments out of a frame that sits unaligned in its buffer', () => {
    const frame = encodeFrame({ a: Float64Array.from([1, 2, 3]) }) as Uint8Array;
    const shifted = new Uint8Array(frame.length + 3);
    shifted.set(frame, 3);
    const back = decodeFrame(shifted.subarray(3)) as { a: Float64Array };
    expect(Array.from(back.a)).toEqual([1, 2, 3]);
  });

  it('rejects frames that are not ours or point outside themselves', () => {
    expect(decodeFrame('not json')).toBeUndefined();
    expect(decodeFrame(new Uint8Array(16))).toBeUndefined();
    const frame = encodeFrame({ a: new Float32Array(4) }) as Uint8Array;
    expect(decodeFrame(frame.subarray(0, frame.length - 4))).toBeUndefined();
    const json = new TextEncoder().encode('{"a":{"$saga:bin":[0,"Float32Array",8,1000000]}}');
    const forged = new Uint8Array(8 + json.length);
    new DataView(forged.buffer).setUint32(0, 0x4d474153, true);
    new DataView(forged.buffer).setUint32(4, json.length, true);
    forged.set(json, 8);
    expect(decodeFrame(forged)).toBeUndefined();
  });
});
