;; The cached training step's feature gathers and Adam, as WebAssembly SIMD for CPU adapters.
;;
;; On a CPU WebGPU implementation (Mesa lavapipe) every storage or texture read at a per-lane
;; address is scalarised, about 9 cycles per 32-bit element, and the gathers of features.wgsl are
;; nothing but such reads. Here a contribution costs eight 16-byte loads and eight multiply-adds.
;; Forward sums each pixel's list front to back, as features.wgsl; backward adds pixel by pixel
;; within each thread's range, then the ranges in a fixed order (deterministic for a given thread
;; count). Held to main/engine/raster/reference.ts by the tests.
;;
;; Layout (all addresses are byte offsets into the imported memory):
;;   offsets  u32[pixels + 1]   list of pixel p = entries[offsets[p] .. offsets[p + 1])
;;   pick     u32[n]            optional: the pixels to visit (training samples pixels); 0 = all
;;   entries  (u32 row, f32 weight)[]   row indexes the view's local rows (see gatherRows)
;;   rows     32 f32 per row (one 128-byte block of channels)
;;   maps     32 f32 per pixel
;; Feature dimensions above 32 are handled by the host as several 32-channel blocks.
;;
;; The memory is shared: the host may run one call per thread on disjoint pixel ranges (forward),
;; into separate row arrays summed afterwards with `add` (backward), or on disjoint slices (adam).

(module
  (memory (import "env" "memory") 1 65536 shared)

  ;; out[p] = sum over the list of pixel q of weight * rows[row], for p in [p, end): q = p, or
  ;; q = pick[p] when $pick is not 0 (a list of sampled pixels; out is then indexed by position).
  (func (export "forward")
    (param $p i32) (param $end i32) (param $pick i32) (param $offsets i32) (param $entries i32) (param $rows i32) (param $out i32)
    (local $e i32) (local $last i32) (local $row i32) (local $w v128) (local $o i32) (local $q i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128)
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $q (local.get $p))
        (if (local.get $pick) (then (local.set $q (i32.load (i32.add (local.get $pick) (i32.shl (local.get $p) (i32.const 2)))))))
        (local.set $o (i32.add (local.get $offsets) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $e (i32.add (local.get $entries) (i32.shl (i32.load (local.get $o)) (i32.const 3))))
        (local.set $last (i32.add (local.get $entries) (i32.shl (i32.load offset=4 (local.get $o)) (i32.const 3))))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $a4 (v128.const i32x4 0 0 0 0))
        (local.set $a5 (v128.const i32x4 0 0 0 0))
        (local.set $a6 (v128.const i32x4 0 0 0 0))
        (local.set $a7 (v128.const i32x4 0 0 0 0))
        (block $listDone
          (loop $list
            (br_if $listDone (i32.ge_u (local.get $e) (local.get $last)))
            (local.set $row (i32.add (local.get $rows) (i32.shl (i32.load (local.get $e)) (i32.const 7))))
            (local.set $w (v128.load32_splat offset=4 (local.get $e)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $w) (v128.load offset=0 (local.get $row)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $w) (v128.load offset=16 (local.get $row)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $w) (v128.load offset=32 (local.get $row)))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $w) (v128.load offset=48 (local.get $row)))))
            (local.set $a4 (f32x4.add (local.get $a4) (f32x4.mul (local.get $w) (v128.load offset=64 (local.get $row)))))
            (local.set $a5 (f32x4.add (local.get $a5) (f32x4.mul (local.get $w) (v128.load offset=80 (local.get $row)))))
            (local.set $a6 (f32x4.add (local.get $a6) (f32x4.mul (local.get $w) (v128.load offset=96 (local.get $row)))))
            (local.set $a7 (f32x4.add (local.get $a7) (f32x4.mul (local.get $w) (v128.load offset=112 (local.get $row)))))
            (local.set $e (i32.add (local.get $e) (i32.const 8)))
            (br $list)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $p) (i32.const 7))))
        (v128.store offset=0 (local.get $o) (local.get $a0))
        (v128.store offset=16 (local.get $o) (local.get $a1))
        (v128.store offset=32 (local.get $o) (local.get $a2))
        (v128.store offset=48 (local.get $o) (local.get $a3))
        (v128.store offset=64 (local.get $o) (local.get $a4))
        (v128.store offset=80 (local.get $o) (local.get $a5))
        (v128.store offset=96 (local.get $o) (local.get $a6))
        (v128.store offset=112 (local.get $o) (local.get $a7))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pixels))))

  ;; rows[row] += weight * maps[p] for every entry of pixel q's list, p in [p, end), pixel by pixel:
  ;; the transpose of forward without a transposed list (the host zeroes rows first). q = p, or
  ;; q = pick[p] when $pick is not 0, as in forward.
  (func (export "backward")
    (param $p i32) (param $end i32) (param $pick i32) (param $offsets i32) (param $entries i32) (param $maps i32) (param $rows i32)
    (local $e i32) (local $last i32) (local $row i32) (local $w v128) (local $o i32) (local $q i32)
    (local $g0 v128) (local $g1 v128) (local $g2 v128) (local $g3 v128)
    (local $g4 v128) (local $g5 v128) (local $g6 v128) (local $g7 v128)
    (block $done
      (loop $pixels
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $q (local.get $p))
        (if (local.get $pick) (then (local.set $q (i32.load (i32.add (local.get $pick) (i32.shl (local.get $p) (i32.const 2)))))))
        (local.set $o (i32.add (local.get $offsets) (i32.shl (local.get $q) (i32.const 2))))
        (local.set $e (i32.add (local.get $entries) (i32.shl (i32.load (local.get $o)) (i32.const 3))))
        (local.set $last (i32.add (local.get $entries) (i32.shl (i32.load offset=4 (local.get $o)) (i32.const 3))))
        (local.set $o (i32.add (local.get $maps) (i32.shl (local.get $p) (i32.const 7))))
        (local.set $g0 (v128.load offset=0 (local.get $o)))
        (local.set $g1 (v128.load offset=16 (local.get $o)))
        (local.set $g2 (v128.load offset=32 (local.get $o)))
        (local.set $g3 (v128.load offset=48 (local.get $o)))
        (local.set $g4 (v128.load offset=64 (local.get $o)))
        (local.set $g5 (v128.load offset=80 (local.get $o)))
        (local.set $g6 (v128.load offset=96 (local.get $o)))
        (local.set $g7 (v128.load offset=112 (local.get $o)))
        (block $listDone
          (loop $list
            (br_if $listDone (i32.ge_u (local.get $e) (local.get $last)))
            (local.set $row (i32.add (local.get $rows) (i32.shl (i32.load (local.get $e)) (i32.const 7))))
            (local.set $w (v128.load32_splat offset=4 (local.get $e)))
            (v128.store offset=0 (local.get $row) (f32x4.add (v128.load offset=0 (local.get $row)) (f32x4.mul (local.get $w) (local.get $g0))))
            (v128.store offset=16 (local.get $row) (f32x4.add (v128.load offset=16 (local.get $row)) (f32x4.mul (local.get $w) (local.get $g1))))
            (v128.store offset=32 (local.get $row) (f32x4.add (v128.load offset=32 (local.get $row)) (f32x4.mul (local.get $w) (local.get $g2))))
            (v128.store offset=48 (local.get $row) (f32x4.add (v128.load offset=48 (local.get $row)) (f32x4.mul (local.get $w) (local.get $g3))))
            (v128.store offset=64 (local.get $row) (f32x4.add (v128.load offset=64 (local.get $row)) (f32x4.mul (local.get $w) (local.get $g4))))
            (v128.store offset=80 (local.get $row) (f32x4.add (v128.load offset=80 (local.get $row)) (f32x4.mul (local.get $w) (local.get $g5))))
            (v128.store offset=96 (local.get $row) (f32x4.add (v128.load offset=96 (local.get $row)) (f32x4.mul (local.get $w) (local.get $g6))))
            (v128.store offset=112 (local.get $row) (f32x4.add (v128.load offset=112 (local.get $row)) (f32x4.mul (local.get $w) (local.get $g7))))
            (local.set $e (i32.add (local.get $e) (i32.const 8)))
            (br $list)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $pixels))))

  ;; Copies 128-byte rows: dst[i] = src[index[i]] for i in [0, count) when $scatter is 0, and
  ;; dst[index[i]] = src[i] otherwise. A view's lists address a compact local copy of the rows they
  ;; use, so the gathers above stay in cache.
  (func (export "copyRows")
    (param $count i32) (param $index i32) (param $src i32) (param $dst i32) (param $scatter i32)
    (local $i i32) (local $from i32) (local $to i32) (local $k i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $k (i32.shl (i32.load (i32.add (local.get $index) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 7)))
        (if (local.get $scatter)
          (then
            (local.set $from (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 7))))
            (local.set $to (i32.add (local.get $dst) (local.get $k))))
          (else
            (local.set $from (i32.add (local.get $src) (local.get $k)))
            (local.set $to (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 7))))))
        (v128.store offset=0 (local.get $to) (v128.load offset=0 (local.get $from)))
        (v128.store offset=16 (local.get $to) (v128.load offset=16 (local.get $from)))
        (v128.store offset=32 (local.get $to) (v128.load offset=32 (local.get $from)))
        (v128.store offset=48 (local.get $to) (v128.load offset=48 (local.get $from)))
        (v128.store offset=64 (local.get $to) (v128.load offset=64 (local.get $from)))
        (v128.store offset=80 (local.get $to) (v128.load offset=80 (local.get $from)))
        (v128.store offset=96 (local.get $to) (v128.load offset=96 (local.get $from)))
        (v128.store offset=112 (local.get $to) (v128.load offset=112 (local.get $from)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; dst += src over $bytes bytes of floats (a multiple of 16): folds one thread's rows into another's.
  (func (export "add") (param $bytes i32) (param $src i32) (param $dst i32)
    (local $i i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $bytes)))
        (v128.store (i32.add (local.get $dst) (local.get $i))
          (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $i))) (v128.load (i32.add (local.get $src) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $each))))

  ;; dst[index[i]] = 0 for i in [0, count): clears the gradient rows the previous view wrote, so a
  ;; backward pass never clears the whole gradient array.
  (func (export "zeroRows") (param $count i32) (param $index i32) (param $dst i32)
    (local $i i32) (local $to i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (local.set $to (i32.add (local.get $dst)
          (i32.shl (i32.load (i32.add (local.get $index) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 7))))
        (v128.store offset=0 (local.get $to) (v128.const i32x4 0 0 0 0))
        (v128.store offset=16 (local.get $to) (v128.const i32x4 0 0 0 0))
        (v128.store offset=32 (local.get $to) (v128.const i32x4 0 0 0 0))
        (v128.store offset=48 (local.get $to) (v128.const i32x4 0 0 0 0))
        (v128.store offset=64 (local.get $to) (v128.const i32x4 0 0 0 0))
        (v128.store offset=80 (local.get $to) (v128.const i32x4 0 0 0 0))
        (v128.store offset=96 (local.get $to) (v128.const i32x4 0 0 0 0))
        (v128.store offset=112 (local.get $to) (v128.const i32x4 0 0 0 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each))))

  ;; One Adam step over $bytes bytes of floats (a multiple of 16), in place, as adam.wgsl:
  ;;   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= (lr / c1) m / (sqrt(v (1 / c2)) + eps)
  ;; with c1 = 1 - b1^t and c2 = 1 - b2^t (torch's update, the bias corrections folded into
  ;; constants). Lazy, as torch's SparseAdam: a group of four floats whose gradient is all zero (a
  ;; Gaussian the step's pixels did not reach) keeps its value and moments, and only its gradient is
  ;; read. A view reaches a few per cent of a large scene's Gaussians, so this reads and writes a
  ;; small share of the 28 bytes per float a dense step moves.
  (func (export "adam")
    (param $bytes i32) (param $params i32) (param $grads i32) (param $m1 i32) (param $m2 i32)
    (param $lr f32) (param $b1 f32) (param $b2 f32) (param $eps f32) (param $c1 f32) (param $c2 f32)
    (local $i i32) (local $g v128) (local $m v128) (local $v v128)
    (local $vb1 v128) (local $vb2 v128) (local $nb1 v128) (local $nb2 v128)
    (local $step v128) (local $veps v128) (local $ic2 v128)
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $nb1 (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $nb2 (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $step (f32x4.splat (f32.div (local.get $lr) (local.get $c1))))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $ic2 (f32x4.splat (f32.div (f32.const 1) (local.get $c2))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $bytes)))
        (local.set $g (v128.load (i32.add (local.get $grads) (local.get $i))))
        (if (v128.any_true (f32x4.ne (local.get $g) (v128.const f32x4 0 0 0 0))) (then
        (local.set $m (f32x4.add
          (f32x4.mul (local.get $vb1) (v128.load (i32.add (local.get $m1) (local.get $i))))
          (f32x4.mul (local.get $nb1) (local.get $g))))
        (local.set $v (f32x4.add
          (f32x4.mul (local.get $vb2) (v128.load (i32.add (local.get $m2) (local.get $i))))
          (f32x4.mul (local.get $nb2) (f32x4.mul (local.get $g) (local.get $g)))))
        (v128.store (i32.add (local.get $m1) (local.get $i)) (local.get $m))
        (v128.store (i32.add (local.get $m2) (local.get $i)) (local.get $v))
        (v128.store (i32.add (local.get $params) (local.get $i))
          (f32x4.sub
            (v128.load (i32.add (local.get $params) (local.get $i)))
            (f32x4.div
              (f32x4.mul (local.get $step) (local.get $m))
              (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $v) (local.get $ic2))) (local.get $veps)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $each))))
)
