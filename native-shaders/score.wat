;; Segmentation's scoring of every Gaussian, as WebAssembly SIMD: each Gaussian's highest dot
;; product with a few query features. Features are unit vectors of 32 channels quantised to int8
;; (value * 127, 32 bytes a Gaussian: half the bytes of float16, so scoring 1M Gaussians reads 32 MB);
;; queries are unit vectors quantised to int16 the same way. Dot products are exact in int32
;; (32 * 127 * 127 < 2^31) and scaled back to cosines at the end. Held to a plain loop by the tests
;; (main/engine/segment/wasm-score.test.ts).
;;
;; Layout (byte offsets into the imported memory):
;;   features  i8[n][32]
;;   queries   i16[q][32]   (64 bytes each)
;;   out       f32[n]       max over queries of dot * scale

(module
  (memory (import "env" "memory") 1 65536)

  (func (export "maxDot")
    (param $n i32) (param $features i32) (param $queries i32) (param $q i32) (param $out i32) (param $scale f32)
    (local $end i32) (local $f i32) (local $o i32) (local $j i32) (local $qp i32)
    (local $v0 v128) (local $v1 v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $acc v128) (local $s i32) (local $best i32)
    (local.set $f (local.get $features))
    (local.set $o (local.get $out))
    (local.set $end (i32.add (local.get $features) (i32.shl (local.get $n) (i32.const 5))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $f) (local.get $end)))
        (local.set $v0 (v128.load offset=0 (local.get $f)))
        (local.set $v1 (v128.load offset=16 (local.get $f)))
        (local.set $a0 (i16x8.extend_low_i8x16_s (local.get $v0)))
        (local.set $a1 (i16x8.extend_high_i8x16_s (local.get $v0)))
        (local.set $a2 (i16x8.extend_low_i8x16_s (local.get $v1)))
        (local.set $a3 (i16x8.extend_high_i8x16_s (local.get $v1)))
        (local.set $best (i32.const 0x80000000))
        (local.set $j (i32.const 0))
        (local.set $qp (local.get $queries))
        (block $qdone
          (loop $each
            (br_if $qdone (i32.ge_u (local.get $j) (local.get $q)))
            (local.set $acc
              (i32x4.add
                (i32x4.add
                  (i32x4.dot_i16x8_s (local.get $a0) (v128.load offset=0 (local.get $qp)))
                  (i32x4.dot_i16x8_s (local.get $a1) (v128.load offset=16 (local.get $qp))))
                (i32x4.add
                  (i32x4.dot_i16x8_s (local.get $a2) (v128.load offset=32 (local.get $qp)))
                  (i32x4.dot_i16x8_s (local.get $a3) (v128.load offset=48 (local.get $qp))))))
            (local.set $s
              (i32.add
                (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
                (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
            (if (i32.gt_s (local.get $s) (local.get $best)) (then (local.set $best (local.get $s))))
            (local.set $qp (i32.add (local.get $qp) (i32.const 64)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $each)))
        (f32.store (local.get $o) (f32.mul (f32.convert_i32_s (local.get $best)) (local.get $scale)))
        (local.set $f (i32.add (local.get $f) (i32.const 32)))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (br $rows))))

  ;; Sums $bytes bytes (a multiple of 32) from $at as int8: the bench's yardstick, the time to read
  ;; a buffer once (1M x 32 float16 is 64 MB).
  (func (export "readAll") (param $bytes i32) (param $at i32) (result i32)
    (local $end i32) (local $f i32) (local $acc v128)
    (local.set $f (local.get $at))
    (local.set $end (i32.add (local.get $at) (local.get $bytes)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $f) (local.get $end)))
        (local.set $acc (i32x4.add (local.get $acc) (i32x4.extadd_pairwise_i16x8_s (i16x8.extadd_pairwise_i8x16_s (v128.load offset=0 (local.get $f))))))
        (local.set $acc (i32x4.add (local.get $acc) (i32x4.extadd_pairwise_i16x8_s (i16x8.extadd_pairwise_i8x16_s (v128.load offset=16 (local.get $f))))))
        (local.set $f (i32.add (local.get $f) (i32.const 32)))
        (br $rows)))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
      (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
)
