// affinity native core: building a CSR matrix from (row, column, value) triplets, and transposing
// one. Plain C++17, no Node. The contract is src/data/matrix.ts (csrFromTriplets, transpose, the
// references of src/data/csrBuild.ts): the same output bit for bit.
//
//   csr_from_triplets  entries sorted by column within each row; duplicate (row, column) pairs
//                      summed in float32 in input order (sum = float(double(sum) + v) for float64
//                      values, which is float32 addition for float32 ones).
//   csr_transpose      the entries sorted by column, rows in order within a column (no merging).
//
// Both are one stable sort by (row, column) in O(n + rows + cols), done so that the writes stay
// in cache: the entries are first partitioned (stably) into blocks of 2^k consecutive rows —
// 32,768 to 65,536 entries each on average, so a few hundred write streams rather than one per row or column as
// a plain counting sort has, which on 20M entries spends most of its time on cache and TLB misses
// — and then each block is sorted by column and by row (two counting sorts) in a thread's own
// cache-sized buffers and written back to its part of the output. The partition is split over
// threads (each counts its contiguous share of the input into its own histogram; the prefix sums
// give each (block, thread) its own range, thread t's entries after those of threads < t, so it
// stays stable); the blocks are shared out dynamically. The partition is written straight into
// the output arrays (a block's entries occupy exactly its range of them until it is sorted), the
// column into `indices`, a float32 value into `data`, with two side arrays: each entry's row
// within its block (uint16, blocks of at most 2^16 rows) and, for float64 input, its value (the
// merged sums are formed from the float64 values). No n-entry scratch array of whole entries:
// the kernel zeroing its fresh pages cost more than the scatter itself.
//
// Index checks: the counting pass checks every row and column index before it addresses memory
// with it; a bad one stops the call before any output is written. The scatter pass reads the
// index arrays again (they are the caller's), so it checks each index again and, at the end,
// that every range was filled exactly: arrays written by another thread between the two passes
// give an error (std::runtime_error), never an access out of bounds or a half-filled output
// returned as a result (the output arrays then hold partial content, for the caller to discard).
#pragma once

#include <cstdint>
#include <string>

namespace affinity {

struct CsrFromTripletsParams {
  int64_t rows = 0, cols = 0;
  int64_t n = 0;                      // triplets (< 2^31: the output's indices are int32)
  const int32_t* row = nullptr;       // n, in [0, rows)
  const int32_t* col = nullptr;       // n, in [0, cols)
  const float* value32 = nullptr;     // n values: exactly one of value32 / value64
  const double* value64 = nullptr;
  int32_t* indptr = nullptr;          // rows + 1
  int32_t* indices = nullptr;         // n (the first nnz are written)
  float* data = nullptr;              // n (the first nnz are written)
};

/** The first triplet (in input order) whose row or column index is out of range. */
struct BadTriplet {
  int64_t position = -1;
  bool column = false;  // false: its row index (checked first), true: its column index
  int64_t value = 0;
};

/** "" when the shapes and pointers are valid (the indices are checked by the build itself). */
std::string validate_csr_from_triplets(const CsrFromTripletsParams& p);

/**
 * Builds the CSR on up to `threads` threads; returns nnz (the entries left after merging
 * duplicates). A row or column index out of range: returns −1 with *bad set, nothing written.
 * Throws std::invalid_argument when validation fails, std::runtime_error when the index arrays
 * changed during the call.
 */
int64_t csr_from_triplets(const CsrFromTripletsParams& p, int threads, BadTriplet* bad);

struct CsrTransposeParams {
  int64_t rows = 0, cols = 0;           // of the input; the output is cols × rows
  const int32_t* indptr = nullptr;      // rows + 1, indptr[0] = 0, non-decreasing
  const int32_t* indices = nullptr;     // ≥ nnz = indptr[rows], in [0, cols)
  int64_t indices_length = 0;
  const float* data = nullptr;          // ≥ nnz
  int64_t data_length = 0;
  int32_t* out_indptr = nullptr;        // cols + 1
  int32_t* out_indices = nullptr;       // nnz
  float* out_data = nullptr;            // nnz
  int64_t out_length = 0;               // of out_indices and out_data: must be ≥ nnz
};

/** "" when valid: shapes, indptr (read here: the caller passes a copy it owns), lengths. */
std::string validate_csr_transpose(const CsrTransposeParams& p);

/**
 * The transpose on up to `threads` threads. A column index out of range: returns false with
 * *bad_position set to the first such entry, nothing written. Throws std::invalid_argument when
 * validation fails, std::runtime_error when the indices changed during the call.
 */
bool csr_transpose(const CsrTransposeParams& p, int threads, int64_t* bad_position);

}  // namespace affinity
