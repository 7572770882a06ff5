// Micro-kernels ("tiles"): MR query rows × NR keys of scores kept in registers, then filtered
// against each row's threshold and offered to the row's heap (fused top-k, no score matrix).
//
// Layouts (both zero-padded, so a tile always runs full-size):
//   a: one group of MR packed query rows, a[f·MR + i] = Q[row0+i, f]
//   b: one panel of NR packed keys,        b[f·NR + jj] = K[j0+jj, f]
// Score tile: C[i][jj] = Σ_f a[f·MR+i]·b[f·NR+jj] (accumulated in float32, f ascending).
#pragma once

#include <cstdint>

#include "affinity/platform.h"  // AFFINITY_X86
#include "topk_rows.h"


namespace affinity {
namespace detail {

using TileFn = void (*)(const float* a, const float* b, int64_t d, RowState* rows, int rows_valid, int32_t j0,
                        int cols_valid, int32_t k_out);

struct TileKind {
  int mr;
  int nr;
  TileFn fn;
};

TileKind scalar_tile();
#if AFFINITY_X86
TileKind avx2_tile();
TileKind avx512_tile();
#endif

}  // namespace detail
}  // namespace affinity
