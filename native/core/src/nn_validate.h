// Checks shared by the validate functions of affinity/nn.h. Each returns "" when the value is
// fine, else a message naming the field and the offending value; AFF_CHECK returns the first.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "affinity/nn.h"

#define AFF_CHECK(expr)                                 \
  do {                                                  \
    std::string aff_problem_ = (expr);                  \
    if (!aff_problem_.empty()) return aff_problem_;     \
  } while (0)

namespace affinity {
namespace detail {
namespace nnv {

inline std::string str(int64_t v) { return std::to_string(v); }

/** A number as a message shows it ("0.5", "-3", "nan", "inf"). */
inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

struct Dim {
  const char* name;
  int64_t value;
};

/** Each size in [0, kNnMaxDim] (so that the product of two fits in int64). */
inline std::string dims(std::initializer_list<Dim> ds) {
  for (const Dim& d : ds)
    if (d.value < 0 || d.value > kNnMaxDim) return std::string(d.name) + " must be in [0, 2^31-1], got " + str(d.value);
  return "";
}

/** A buffer of exactly `need` elements (length −1: not known, trusted), not null when need > 0. */
inline std::string buffer(const char* name, const void* ptr, int64_t length, int64_t need, const char* what) {
  if (length >= 0 && length != need)
    return std::string(name) + " has length " + str(length) + ", expected " + what + " = " + str(need);
  if (need > 0 && !ptr) return std::string(name) + " is null";
  return "";
}

inline std::string finite(const char* name, double v) {
  if (!std::isfinite(v)) return std::string(name) + " must be a finite number, got " + num(v);
  return "";
}

/** [row_start, row_end) inside [0, total]. */
inline std::string row_range(const NnCall& p, int64_t total, const char* what) {
  if (p.row_start < 0 || p.row_start > p.row_end || p.row_end > total)
    return "row range [" + str(p.row_start) + ", " + str(p.row_end) + ") is not inside [0, " + what + " = " + str(total) + "]";
  return "";
}

/** A buffer's span: `elements` of `elem_bytes` bytes from p (null or empty: nothing). */
struct Span {
  const char* name;
  const void* p;
  int64_t elements;
  int64_t elem_bytes = 4;
};

inline bool spans_overlap(const Span& a, const Span& b) {
  if (!a.p || !b.p || a.elements <= 0 || b.elements <= 0) return false;
  const auto a0 = reinterpret_cast<uintptr_t>(a.p), b0 = reinterpret_cast<uintptr_t>(b.p);
  const auto a1 = a0 + static_cast<uintptr_t>(a.elements * a.elem_bytes), b1 = b0 + static_cast<uintptr_t>(b.elements * b.elem_bytes);
  return a0 < b1 && b0 < a1;
}

/** No output shares memory with an input or with another output. */
inline std::string disjoint(std::initializer_list<Span> outputs, std::initializer_list<Span> inputs) {
  for (auto o = outputs.begin(); o != outputs.end(); ++o) {
    for (const Span& i : inputs)
      if (spans_overlap(*o, i)) return std::string(o->name) + " overlaps " + i.name;
    for (auto o2 = o + 1; o2 != outputs.end(); ++o2)
      if (spans_overlap(*o, *o2)) return std::string(o2->name) + " overlaps " + o->name;
  }
  return "";
}

/** Every id in [−1, rows). */
inline std::string ids_in_range(const char* name, const int32_t* ids, int64_t n, int64_t rows) {
  for (int64_t i = 0; i < n; i++) {
    const int32_t v = ids[i];
    if (v < -1 || v >= rows) return std::string(name) + "[" + str(i) + "] = " + str(v) + " is outside [-1, " + str(rows) + ")";
  }
  return "";
}

/** offsets[0] = 0, non-decreasing, offsets[n − 1] = end. */
inline std::string offsets_valid(const char* name, const int32_t* off, int64_t n, int64_t end, const char* what) {
  if (off[0] != 0) return std::string(name) + "[0] = " + str(off[0]) + ", expected 0";
  for (int64_t g = 0; g + 1 < n; g++)
    if (off[g + 1] < off[g])
      return std::string(name) + " decrease at " + str(g + 1) + " (" + str(off[g]) + " → " + str(off[g + 1]) + ")";
  if (off[n - 1] != end) return std::string(name) + " end at " + str(off[n - 1]) + ", expected " + what + " = " + str(end);
  return "";
}

/** Every id in [0, rows) and none repeated (the first repeat, in index order, is named). */
inline std::string distinct_rows(const char* name, const int32_t* ids, int64_t n, int64_t rows) {
  for (int64_t i = 0; i < n; i++)
    if (!(ids[i] >= 0 && ids[i] < rows)) return std::string(name) + "[" + str(i) + "] = " + str(ids[i]) + " is outside [0, " + str(rows) + ")";
  // sort (id, index) pairs: O(n log n) whatever the table's size
  std::vector<std::pair<int32_t, int64_t>> sorted(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; i++) sorted[static_cast<size_t>(i)] = {ids[i], i};
  std::sort(sorted.begin(), sorted.end());
  int64_t first_repeat = -1;
  for (size_t i = 1; i < sorted.size(); i++) {
    // the second-smallest index of a run of equal ids is that id's first repeat
    if (sorted[i].first == sorted[i - 1].first && (i < 2 || sorted[i - 2].first != sorted[i].first)) {
      if (first_repeat < 0 || sorted[i].second < first_repeat) first_repeat = sorted[i].second;
    }
  }
  if (first_repeat >= 0) return std::string(name) + "[" + str(first_repeat) + "] = " + str(ids[first_repeat]) + " repeats an earlier row";
  return "";
}

}  // namespace nnv
}  // namespace detail
}  // namespace affinity
