// affinity native core: Snappy decompression (the raw format of google/snappy's format_description.txt),
// for the Parquet reader's pages (src/data/parquet.ts hands it to hyparquet as its SNAPPY codec). Plain
// C++17, no Node.
//
// A stream is the uncompressed length (a little-endian base-128 varint) and elements: literals (tag
// 00: length − 1 in the tag's upper 6 bits, or in the 1–4 bytes after it for 60–63) and copies of
// earlier output (tag 01: length 4–11 and an 11-bit offset; 10: length 1–64 and a 16-bit offset; 11:
// length 1–64 and a 32-bit offset), which may overlap what they produce. Every length and offset is
// checked against the input and the output before it is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace affinity {

/**
 * Decompresses `in` into `out` (capacity `out_size`). Returns the bytes written, which must be the
 * stream's declared length; on malformed input returns −1 and sets `error` (nothing read or written
 * outside the two buffers).
 */
int64_t snappy_uncompress(const uint8_t* in, size_t in_size, uint8_t* out, size_t out_size, std::string* error);

}  // namespace affinity
