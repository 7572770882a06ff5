// ctest: native/core snappy_uncompress — hand-made streams of every element kind (short and long
// literals, copies with 1-, 2- and 4-byte offsets, overlapping copies), random valid streams built
// together with the text they encode, and malformed streams (each rejected, nothing written past the
// buffer). test/data.parquet.test.ts checks it against hyparquet's own decoder on real pages. No Node.
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "affinity/snappy.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

std::string decode(const std::vector<uint8_t>& in, size_t capacity, int64_t* n, std::string* err) {
  std::vector<uint8_t> out(capacity + 16, 0xee);
  *n = snappy_uncompress(in.data(), in.size(), out.data(), capacity, err);
  for (size_t k = capacity; k < out.size(); k++) CHECK(out[k] == 0xee, "wrote past the output buffer");
  return *n >= 0 ? std::string(out.begin(), out.begin() + *n) : std::string();
}

void varint(std::vector<uint8_t>& s, uint64_t v) {
  while (v >= 0x80) { s.push_back(static_cast<uint8_t>(v | 0x80)); v >>= 7; }
  s.push_back(static_cast<uint8_t>(v));
}

void literal(std::vector<uint8_t>& s, const std::string& text) {
  const size_t n = text.size() - 1;
  if (n < 60) s.push_back(static_cast<uint8_t>(n << 2));
  else {
    int bytes = n < 256 ? 1 : n < 65536 ? 2 : n < (1u << 24) ? 3 : 4;
    s.push_back(static_cast<uint8_t>((59 + bytes) << 2));
    for (int k = 0; k < bytes; k++) s.push_back(static_cast<uint8_t>(n >> (8 * k)));
  }
  s.insert(s.end(), text.begin(), text.end());
}

void copy(std::vector<uint8_t>& s, size_t len, size_t offset, int kind) {
  if (kind == 1) {
    s.push_back(static_cast<uint8_t>(((len - 4) << 2) | ((offset >> 8) << 5) | 1));
    s.push_back(static_cast<uint8_t>(offset));
  } else if (kind == 2) {
    s.push_back(static_cast<uint8_t>(((len - 1) << 2) | 2));
    s.push_back(static_cast<uint8_t>(offset));
    s.push_back(static_cast<uint8_t>(offset >> 8));
  } else {
    s.push_back(static_cast<uint8_t>(((len - 1) << 2) | 3));
    for (int k = 0; k < 4; k++) s.push_back(static_cast<uint8_t>(offset >> (8 * k)));
  }
}

void test_elements() {
  int64_t n;
  std::string err;
  std::vector<uint8_t> s;
  varint(s, 3);
  literal(s, "abc");
  CHECK(decode(s, 3, &n, &err) == "abc" && n == 3, "a literal");
  s.clear();
  varint(s, 8);
  literal(s, "ab");
  copy(s, 6, 2, 1);  // overlapping: repeats "ab"
  CHECK(decode(s, 8, &n, &err) == "abababab", "an overlapping 1-byte-offset copy");
  s.clear();
  varint(s, 9);
  literal(s, "abcd");
  copy(s, 4, 4, 2);
  copy(s, 1, 1, 3);
  CHECK(decode(s, 9, &n, &err) == "abcdabcdd", "2- and 4-byte-offset copies");
  s.clear();
  const std::string long_text(300, 'x');
  varint(s, 300);
  literal(s, long_text);
  CHECK(decode(s, 300, &n, &err) == long_text, "a literal with a 2-byte length");
}

void test_random_streams() {
  std::mt19937 g(7);
  for (int round = 0; round < 300; round++) {
    std::string text;
    std::vector<uint8_t> body;
    const int elements = 1 + static_cast<int>(g() % 40);
    for (int e = 0; e < elements; e++) {
      if (text.empty() || g() % 3 == 0) {
        std::string lit(1 + g() % (g() % 5 == 0 ? 5000 : 70), ' ');
        for (char& c : lit) c = static_cast<char>('a' + g() % 26);
        literal(body, lit);
        text += lit;
      } else {
        const int kind = 1 + static_cast<int>(g() % 3);
        const size_t len = kind == 1 ? 4 + g() % 8 : 1 + g() % 64;
        size_t offset = 1 + g() % text.size();
        if (kind == 1 && offset > 2047) offset = 1 + offset % 2047;
        if (kind == 2 && offset > 65535) offset = 1 + offset % 65535;
        copy(body, len, offset, kind);
        for (size_t k = 0; k < len; k++) text += text[text.size() - offset];
      }
    }
    std::vector<uint8_t> s;
    varint(s, text.size());
    s.insert(s.end(), body.begin(), body.end());
    int64_t n;
    std::string err;
    CHECK(decode(s, text.size(), &n, &err) == text, "random stream %d: %s", round, err.c_str());
  }
}

void test_malformed() {
  auto rejects = [](std::vector<uint8_t> s, size_t capacity, const char* what) {
    int64_t n;
    std::string err;
    decode(s, capacity, &n, &err);
    CHECK(n == -1 && !err.empty(), "%s must be rejected", what);
  };
  std::vector<uint8_t> s;
  varint(s, 4);
  literal(s, "ab");
  copy(s, 2, 3, 2);
  rejects(s, 4, "an offset before the start of the output");
  s.clear();
  varint(s, 4);
  literal(s, "ab");
  copy(s, 2, 0, 2);
  rejects(s, 4, "offset 0");
  s.clear();
  varint(s, 3);
  literal(s, "abcd");
  rejects(s, 16, "a literal past the declared length");
  s.clear();
  varint(s, 100);
  literal(s, "ab");
  rejects(s, 50, "a declared length past the output buffer");
  s.clear();
  varint(s, 5);
  literal(s, "ab");
  rejects(s, 5, "a stream shorter than its declared length");
  s.clear();
  varint(s, 10);
  s.push_back(static_cast<uint8_t>(20 << 2));  // a literal of 21 bytes, 2 given
  s.push_back('a');
  s.push_back('b');
  rejects(s, 10, "a literal past the input");
  rejects({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 10, "an endless length varint");
  rejects({}, 10, "empty input");
}

}  // namespace

int main() {
  test_elements();
  test_random_streams();
  test_malformed();
  return report("test_snappy");
}
