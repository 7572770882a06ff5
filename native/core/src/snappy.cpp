// Snappy raw-format decompression (affinity/snappy.h).
#include "affinity/snappy.h"

#include <cstring>

namespace affinity {

int64_t snappy_uncompress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size, std::string* error) {
  auto fail = [&](const char* why) -> int64_t {
    if (error) *error = why;
    return -1;
  };
  size_t ip = 0;
  // the declared length: a varint of at most 5 bytes (32 bits)
  uint64_t length = 0;
  for (int shift = 0;; shift += 7) {
    if (ip >= in_size) return fail("truncated length");
    if (shift > 28) return fail("length varint too long");
    const uint8_t b = in[ip++];
    length |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  if (length > out_size) return fail("declared length exceeds the output buffer");
  size_t op = 0;
  while (ip < in_size) {
    const uint8_t tag = in[ip++];
    const int kind = tag & 3;
    if (kind == 0) {
      size_t len = static_cast<size_t>(tag >> 2);
      if (len >= 60) {
        const size_t extra = len - 59;  // 1..4 bytes of length − 1
        if (in_size - ip < extra) return fail("truncated literal length");
        len = 0;
        for (size_t k = 0; k < extra; k++) len |= static_cast<size_t>(in[ip + k]) << (8 * k);
        ip += extra;
      }
      len += 1;
      if (in_size - ip < len) return fail("literal runs past the input");
      if (length - op < len) return fail("literal runs past the declared length");
      std::memcpy(out + op, in + ip, len);
      ip += len;
      op += len;
      continue;
    }
    size_t len, offset;
    if (kind == 1) {
      if (ip >= in_size) return fail("truncated copy");
      len = 4 + ((tag >> 2) & 7);
      offset = (static_cast<size_t>(tag >> 5) << 8) | in[ip++];
    } else if (kind == 2) {
      if (in_size - ip < 2) return fail("truncated copy");
      len = 1 + (tag >> 2);
      offset = static_cast<size_t>(in[ip]) | static_cast<size_t>(in[ip + 1]) << 8;
      ip += 2;
    } else {
      if (in_size - ip < 4) return fail("truncated copy");
      len = 1 + (tag >> 2);
      offset = static_cast<size_t>(in[ip]) | static_cast<size_t>(in[ip + 1]) << 8 | static_cast<size_t>(in[ip + 2]) << 16 |
               static_cast<size_t>(in[ip + 3]) << 24;
      ip += 4;
    }
    if (offset == 0 || offset > op) return fail("copy offset outside the output so far");
    if (length - op < len) return fail("copy runs past the declared length");
    const uint8_t* src = out + op - offset;
    if (offset >= len) {
      std::memcpy(out + op, src, len);
    } else {
      for (size_t k = 0; k < len; k++) out[op + k] = src[k];  // overlapping: a repeating pattern
    }
    op += len;
  }
  if (op != length) return fail("stream ends before its declared length");
  return static_cast<int64_t>(op);
}

}  // namespace affinity
