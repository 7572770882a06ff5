// The delimited-text reader's fast path; the rules it follows are listed in
// affinity/delimited_reader.h, each one the reference's (src/data/readers.ts, csvLine.ts,
// textDecoder.ts).
#include "affinity/delimited_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>
#include <utility>

namespace affinity {
namespace {

/** float32's largest finite value, as the reference's FLOAT32_MAX (a double). */
constexpr double kFloat32Max = 3.4028234663852886e38;
/** Number.MAX_SAFE_INTEGER */
constexpr double kMaxSafeInteger = 9007199254740991.0;
/** the reference's limit on an open quoted record: text.length > 1 << 20 (UTF-16 units) */
constexpr int64_t kMaxPendingUtf16 = int64_t{1} << 20;
/** bytes of a record's text returned with a quote error (the message shows its first 80 characters) */
constexpr size_t kErrorPrefixBytes = 1024;

inline uint64_t load_tail(const char* s, size_t n) {
  uint64_t w = 0;
  std::memcpy(&w, s, n);
  return w;
}

inline uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint64_t hash_bytes(const char* s, size_t n) {
  uint64_t h = 0x9e3779b97f4a7c15ULL ^ (static_cast<uint64_t>(n) * 0x2545f4914f6cdd1dULL);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, s, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 29;
    s += 8;
    n -= 8;
  }
  if (n > 0) h = (h ^ load_tail(s, n)) * 0x94d049bb133111ebULL;
  return mix(h);
}

bool all_ascii(const uint8_t* p, size_t n) {
  size_t i = 0;
  uint64_t acc = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t a, b, c, d;
    std::memcpy(&a, p + i, 8);
    std::memcpy(&b, p + i + 8, 8);
    std::memcpy(&c, p + i + 16, 8);
    std::memcpy(&d, p + i + 24, 8);
    acc |= a | b | c | d;
    if (acc & 0x8080808080808080ULL) return false;
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t a;
    std::memcpy(&a, p + i, 8);
    acc |= a;
  }
  if (acc & 0x8080808080808080ULL) return false;
  for (; i < n; i++)
    if (p[i] & 0x80) return false;
  return true;
}

/** Well-formed UTF-8 (Unicode table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF). */
bool valid_utf8(const uint8_t* p, size_t n) {
  size_t i = 0;
  while (i < n) {
    const uint8_t b = p[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    auto cont = [&](size_t k) { return i + k < n && (p[i + k] & 0xC0) == 0x80; };
    if (b >= 0xC2 && b <= 0xDF) {
      if (!cont(1)) return false;
      i += 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      if (i + 2 >= n) return false;
      const uint8_t b1 = p[i + 1];
      if (b == 0xE0 && (b1 < 0xA0 || b1 > 0xBF)) return false;
      if (b == 0xED && (b1 < 0x80 || b1 > 0x9F)) return false;
      if ((b1 & 0xC0) != 0x80 || !cont(2)) return false;
      i += 3;
    } else if (b >= 0xF0 && b <= 0xF4) {
      if (i + 3 >= n) return false;
      const uint8_t b1 = p[i + 1];
      if (b == 0xF0 && (b1 < 0x90 || b1 > 0xBF)) return false;
      if (b == 0xF4 && (b1 < 0x80 || b1 > 0x8F)) return false;
      if ((b1 & 0xC0) != 0x80 || !cont(2) || !cont(3)) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

inline bool ascii_space(uint8_t b) { return b == ' ' || (b >= 0x09 && b <= 0x0D); }

/**
 * Length in bytes of the JavaScript white space or line terminator (what trim() and \s remove)
 * starting at p, or 0. UTF-8: U+0009–000D, U+0020, U+00A0, U+1680, U+2000–200A, U+2028, U+2029,
 * U+202F, U+205F, U+3000, U+FEFF. Latin-1: those below U+0100.
 */
size_t space_at(const uint8_t* p, size_t n, bool latin1) {
  if (n == 0) return 0;
  const uint8_t b = p[0];
  if (ascii_space(b)) return 1;
  if (b < 0x80) return 0;
  if (latin1) return b == 0xA0 ? 1 : 0;
  if (b == 0xC2) return n >= 2 && p[1] == 0xA0 ? 2 : 0;
  if (n < 3) return 0;
  const uint8_t b1 = p[1], b2 = p[2];
  if (b == 0xE1) return b1 == 0x9A && b2 == 0x80 ? 3 : 0;
  if (b == 0xE2) {
    if (b1 == 0x80) return (b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF ? 3 : 0;
    return b1 == 0x81 && b2 == 0x9F ? 3 : 0;
  }
  if (b == 0xE3) return b1 == 0x80 && b2 == 0x80 ? 3 : 0;
  if (b == 0xEF) return b1 == 0xBB && b2 == 0xBF ? 3 : 0;
  return 0;
}

/** Length of the white space character ending at p + n, or 0 (valid UTF-8 or Latin-1 text). */
size_t space_before(const uint8_t* p, size_t n, bool latin1) {
  if (n == 0) return 0;
  const uint8_t b = p[n - 1];
  if (ascii_space(b)) return 1;
  if (b < 0x80) return 0;
  if (latin1) return b == 0xA0 ? 1 : 0;
  if (n >= 2 && space_at(p + n - 2, 2, false) == 2) return 2;
  if (n >= 3 && space_at(p + n - 3, 3, false) == 3) return 3;
  return 0;
}

const double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                         1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

inline const char* find_delimiter(const char* s, const char* end, const std::string& d) {
  const size_t dl = d.size();
  if (dl == 1) return static_cast<const char*>(std::memchr(s, d[0], static_cast<size_t>(end - s)));
  while (s + dl <= end) {
    const char* c = static_cast<const char*>(std::memchr(s, d[0], static_cast<size_t>(end - s)));
    if (!c || c + dl > end) return nullptr;
    if (std::memcmp(c, d.data(), dl) == 0) return c;
    s = c + 1;
  }
  return nullptr;
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// decimal literals

bool parse_decimal(const char* s, size_t n, double* out) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) {
    neg = s[i] == '-';
    i++;
  }
  const size_t mant_start = i;
  uint64_t mant = 0;
  int sig = 0;        // significant digits in mant (leading zeros not counted)
  bool exact = true;  // mant holds every significant digit
  int frac = 0;       // digits after the point that went into mant
  size_t int_digits = 0, frac_digits = 0;
  int int_dropped = 0;  // significant integer digits beyond mant's capacity
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, int_digits++) {
    const int d = s[i] - '0';
    if (sig == 0 && d == 0) continue;
    if (sig < 19) {
      mant = mant * 10 + static_cast<uint64_t>(d);
      sig++;
    } else {
      int_dropped++;
      if (d != 0) exact = false;
    }
  }
  if (i < n && s[i] == '.') {
    i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, frac_digits++) {
      const int d = s[i] - '0';
      if (sig == 0 && d == 0) {
        frac++;
        continue;
      }
      if (sig < 19) {
        mant = mant * 10 + static_cast<uint64_t>(d);
        sig++;
        frac++;
      } else if (d != 0) {
        exact = false;
      }
    }
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  int64_t exp10 = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    bool eneg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
      eneg = s[i] == '-';
      i++;
    }
    if (i >= n || s[i] < '0' || s[i] > '9') return false;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
      if (exp10 < 100000000) exp10 = exp10 * 10 + (s[i] - '0');
    if (eneg) exp10 = -exp10;
  }
  if (i != n) return false;
  if (mant == 0 && exact) {
    *out = neg ? -0.0 : 0.0;
    return true;
  }
  // Clinger's fast path: an exact mantissa below 2^53 times an exact power of ten rounds once
  const int64_t e = exp10 - frac + int_dropped;
  if (exact && mant < (uint64_t{1} << 53) && e >= -22 && e <= 22) {
    double v = static_cast<double>(mant);
    v = e >= 0 ? v * kPow10[e] : v / kPow10[-e];
    *out = neg ? -v : v;
    return true;
  }
  // the general case: correctly rounded by the standard library (from_chars takes no '+')
  const char* first = s + mant_start;
  double v = 0;
  const auto r = std::from_chars(first, s + n, v, std::chars_format::general);
  if (r.ec == std::errc::result_out_of_range) {
    // beyond the double range: ±Infinity when the magnitude is large, ±0 when it is tiny
    // (the decimal exponent of the first significant digit decides)
    const int64_t lead = static_cast<int64_t>(sig) + int_dropped - frac + exp10;
    v = lead > 0 ? HUGE_VAL : 0.0;
  } else if (r.ec != std::errc() || r.ptr != s + n) {
    return false;
  }
  *out = neg ? -v : v;
  return true;
}

// ----------------------------------------------------------------------------------------------
// IdDictionary

IdDictionary::IdDictionary() : offsets_{0}, slots_(1024, Slot{0, 0, 0}), mask_(1023) {}

namespace {
inline uint64_t head_of(const char* s, size_t n) { return load_tail(s, n < 8 ? n : 8); }
inline uint64_t hash_id(const char* s, size_t n, uint64_t head) { return n <= 8 ? mix(head ^ (static_cast<uint64_t>(n) * 0x2545f4914f6cdd1dULL)) : hash_bytes(s, n); }
}  // namespace

IdDictionary::Key IdDictionary::key(const char* s, size_t n) const {
  const uint64_t head = head_of(s, n);
  const uint64_t h = hash_id(s, n, head);
  __builtin_prefetch(&slots_[h & mask_]);
  return Key{s, n, head, h};
}

int32_t IdDictionary::add(const Key& key) {
  const char* s = key.s;
  const size_t n = key.n;
  const uint64_t head = key.head;
  uint64_t at = key.hash & mask_;
  for (;;) {
    const Slot& slot = slots_[at];
    if (slot.index1 == 0) break;
    if (slot.head == head && slot.length == n &&
        (n <= 8 || std::memcmp(arena_.data() + offsets_[slot.index1 - 1] + 8, s + 8, n - 8) == 0))
      return static_cast<int32_t>(slot.index1 - 1);
    at = (at + 1) & mask_;
  }
  const int32_t k = size();
  arena_.append(s, n);
  offsets_.push_back(static_cast<int64_t>(arena_.size()));
  slots_[at] = Slot{head, static_cast<uint32_t>(n), static_cast<uint32_t>(k) + 1};
  if (static_cast<uint64_t>(k + 1) * 2 > mask_ + 1) grow();
  return k;
}

void IdDictionary::grow() {
  const uint64_t cap = (mask_ + 1) * 2;
  std::vector<Slot> slots(cap, Slot{0, 0, 0});
  const uint64_t mask = cap - 1;
  for (const Slot& old : slots_) {
    if (old.index1 == 0) continue;
    const char* s = arena_.data() + offsets_[old.index1 - 1];
    uint64_t at = hash_id(s, old.length, old.head) & mask;
    while (slots[at].index1 != 0) at = (at + 1) & mask;
    slots[at] = old;
  }
  slots_ = std::move(slots);
  mask_ = mask;
}

// ----------------------------------------------------------------------------------------------
// DelimitedReader

std::string DelimitedReader::validate(const DelimitedLayout& l) {
  if (l.delimiter.empty()) return "the delimiter is empty";
  for (const char c : l.delimiter) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x80) return "the delimiter is not ASCII";
    if (b == '\n' || b == '\r') return "the delimiter holds a line break";
    if (b == '"' && l.quotes) return "the delimiter holds a quote";
  }
  if (l.user < 0 || l.item < 0) return "user and item columns must be ≥ 0";
  if (l.rating < -1 || l.timestamp < -1) return "rating and timestamp columns must be ≥ −1";
  if (l.width < 1) return "the header width must be ≥ 1";
  if (l.limit < 1) return "limit must be ≥ 1";
  const int e = static_cast<int>(l.encoding);
  if (e < 0 || e > 2) return "unknown encoding";
  return "";
}

DelimitedReader::DelimitedReader(DelimitedLayout layout, int64_t lines_before)
    : layout_(std::move(layout)), mode_(layout_.encoding), lines_(lines_before) {
  need_ = std::max(std::max(layout_.user, layout_.item), std::max(layout_.rating, layout_.timestamp)) + 1;
}

void DelimitedReader::seed_row(int32_t u, int32_t i, float r, double t, uint32_t line) {
  user_.push_back(u);
  item_.push_back(i);
  rating_.push_back(r);
  if (layout_.timestamp >= 0) timestamp_.push_back(t);
  line_.push_back(line);
  if (rows() >= layout_.limit) done_ = true;
}

void DelimitedReader::reserve(int64_t rows) {
  if (rows <= 0) return;
  const auto n = static_cast<size_t>(rows);
  user_.reserve(n);
  item_.reserve(n);
  rating_.reserve(n);
  if (layout_.timestamp >= 0) timestamp_.reserve(n);
  line_.reserve(n);
}

ReadStatus DelimitedReader::feed(const uint8_t* data, size_t n, bool last) {
  if (error_.kind != ReadErrorKind::None) return ReadStatus::Error;
  if (done_) return ReadStatus::Done;
  if (!carry_.empty()) {
    // complete the carried line with the bytes up to the first LF, parse it, go on in place
    const void* lf = n > 0 ? std::memchr(data, '\n', n) : nullptr;
    if (!lf && !last) {
      carry_.append(reinterpret_cast<const char*>(data), n);
      return ReadStatus::More;
    }
    const size_t take = lf ? static_cast<size_t>(static_cast<const uint8_t*>(lf) - data) + 1 : n;
    carry_.append(reinterpret_cast<const char*>(data), take);
    std::string line;
    line.swap(carry_);
    parse(reinterpret_cast<const uint8_t*>(line.data()), line.size(), last && take == n);
    data += take;
    n -= take;
    if (error_.kind != ReadErrorKind::None) return ReadStatus::Error;
    if (done_) return ReadStatus::Done;
  }
  const size_t used = parse(data, n, last);
  if (error_.kind != ReadErrorKind::None) return ReadStatus::Error;
  if (done_) return ReadStatus::Done;
  carry_.assign(reinterpret_cast<const char*>(data + used), n - used);
  if (last && has_pending_) {
    error_.kind = ReadErrorKind::QuoteUnclosed;
    error_.line = pending_line_;
    error_.text = pending_.substr(0, kErrorPrefixBytes);
    return ReadStatus::Error;
  }
  return ReadStatus::More;
}

int64_t DelimitedReader::utf16_length(const uint8_t* p, size_t n) const {
  if (mode_ != TextEncoding::Utf8) return static_cast<int64_t>(n);  // Latin-1, or 'auto' still on ASCII lines
  int64_t len = 0;
  for (size_t i = 0; i < n; i++) {
    const uint8_t b = p[i];
    len += (b & 0xC0) != 0x80;  // one unit per character
    len += b >= 0xF0;           // and a surrogate pair past U+FFFF
  }
  return len;
}

bool DelimitedReader::line_ok(const uint8_t* p, size_t n, int64_t line_no) {
  if (mode_ == TextEncoding::Latin1 || all_ascii(p, n)) return true;
  if (mode_ == TextEncoding::Auto) {
    mode_ = valid_utf8(p, n) ? TextEncoding::Utf8 : TextEncoding::Latin1;
    return true;
  }
  if (valid_utf8(p, n)) return true;
  error_.kind = ReadErrorKind::Encoding;
  error_.line = line_no;
  error_.text.assign(reinterpret_cast<const char*>(p), n);
  return false;
}

bool DelimitedReader::is_blank(const uint8_t* p, size_t n) const {
  const bool latin1 = mode_ == TextEncoding::Latin1;
  while (n > 0) {
    const size_t k = space_at(p, n, latin1);
    if (k == 0) return false;
    p += k;
    n -= k;
  }
  return true;
}

size_t DelimitedReader::parse(const uint8_t* p, size_t n, bool last) {
  size_t pos = 0;
  // a block of ASCII text needs no per-line encoding check
  const bool checked = mode_ != TextEncoding::Latin1 && !all_ascii(p, n);
  while (pos < n) {
    const auto* lf = static_cast<const uint8_t*>(std::memchr(p + pos, '\n', n - pos));
    if (!lf && !last) break;
    const size_t line_end = lf ? static_cast<size_t>(lf - p) : n;
    const size_t next = lf ? line_end + 1 : n;
    const int64_t line_no = ++lines_;
    if (checked && !line_ok(p + pos, next - pos, line_no)) break;
    size_t end = line_end;
    if (end > pos && p[end - 1] == '\r') end--;
    const char* s = reinterpret_cast<const char*>(p + pos);
    const size_t len = end - pos;
    if (has_pending_) {
      pending_utf16_ += 1 + utf16_length(p + pos, len);
      pending_.push_back('\n');
      pending_.append(s, len);
      if (pending_utf16_ > kMaxPendingUtf16) {
        error_.kind = ReadErrorKind::QuoteTooLong;
        error_.line = pending_line_;
        error_.text = pending_.substr(0, kErrorPrefixBytes);
        pos = next;
        break;
      }
      if (split(pending_.data(), pending_.size())) {
        has_pending_ = false;
        in_place_ = false;
        record(pending_.data(), pending_.size(), pending_line_);
        in_place_ = true;
        pending_.clear();
      }
    } else if (len > 0 && !(p[pos] <= 0x20 && is_blank(p + pos, len))) {
      if (split(s, len)) {
        record(s, len, line_no);
      } else {
        has_pending_ = true;
        pending_.assign(s, len);
        pending_line_ = line_no;
        pending_utf16_ = utf16_length(p + pos, len);
      }
    }
    pos = next;
    if (done_ || error_.kind != ReadErrorKind::None) break;
  }
  // the queued rows point into `p`, which the caller may free once this returns
  drain();
  return pos;
}

bool DelimitedReader::split(const char* s, size_t n) {
  fields_.clear();
  unquoted_used_ = 0;
  const char* end = s + n;
  const std::string& d = layout_.delimiter;
  const size_t dl = d.size();
  if (dl == 1) {
    // one pass for the common case, a one-byte delimiter: split, unless a quote turns up
    const char dc = d[0];
    const bool quotes = layout_.quotes;
    const char* f = s;
    bool quoted = false;
    for (const char* c = s; c < end; c++) {
      const char ch = *c;
      if (ch == dc) {
        fields_.push_back({f, static_cast<size_t>(c - f), -1});
        f = c + 1;
      } else if (ch == '"' && quotes) {
        quoted = true;
        break;
      }
    }
    if (!quoted) {
      fields_.push_back({f, static_cast<size_t>(end - f), -1});
      return true;
    }
    fields_.clear();
  } else if (!layout_.quotes || !std::memchr(s, '"', n)) {
    // String.prototype.split
    const char* f = s;
    for (;;) {
      const char* k = find_delimiter(f, end, d);
      if (!k) {
        fields_.push_back({f, static_cast<size_t>(end - f), -1});
        return true;
      }
      fields_.push_back({f, static_cast<size_t>(k - f), -1});
      f = k + dl;
    }
  }
  // splitRecord's quoted path, step for step
  const char* i = s;
  for (;;) {
    if (i < end && *i == '"') {
      if (unquoted_used_ == unquoted_.size()) unquoted_.emplace_back();
      const auto q = static_cast<int32_t>(unquoted_used_);
      std::string& field = unquoted_[unquoted_used_++];
      field.clear();
      const char* j = i + 1;
      for (;;) {
        const auto* k = static_cast<const char*>(std::memchr(j, '"', static_cast<size_t>(end - j)));
        if (!k) return false;
        field.append(j, static_cast<size_t>(k - j));
        if (k + 1 < end && k[1] == '"') {
          field.push_back('"');
          j = k + 2;
        } else {
          i = k + 1;
          break;
        }
      }
      // anything between the closing quote and the delimiter is kept as is
      const char* k = find_delimiter(i, end, d);
      const char* stop = k ? k : end;
      if (stop > i) field.append(i, static_cast<size_t>(stop - i));
      i = stop;
      fields_.push_back({nullptr, field.size(), q});
    } else {
      const char* k = find_delimiter(i, end, d);
      const char* stop = k ? k : end;
      fields_.push_back({i, static_cast<size_t>(stop - i), -1});
      i = stop;
    }
    if (i >= end) break;
    i += dl;
  }
  // the unquoted values stay put now (unquoted_ grew while splitting: short strings move)
  for (Field& f : fields_)
    if (f.unquoted >= 0) f.p = unquoted_[static_cast<size_t>(f.unquoted)].data();
  return true;
}

bool DelimitedReader::row_invalid(int64_t line_no, const char* s, size_t n) {
  if (layout_.skip_invalid) {
    skipped_++;
    return true;
  }
  error_.kind = ReadErrorKind::Row;
  error_.line = line_no;
  error_.text.assign(s, n);
  return true;
}

void DelimitedReader::record(const char* s, size_t n, int64_t line_no) {
  if (done_) return;
  const auto nf = static_cast<int32_t>(fields_.size());
  if (nf < need_ || (nf != layout_.width && !layout_.extra_ignore)) {
    row_invalid(line_no, s, n);
    return;
  }
  const bool latin1 = mode_ == TextEncoding::Latin1;
  const Field u = fields_[static_cast<size_t>(layout_.user)];
  const Field it = fields_[static_cast<size_t>(layout_.item)];
  auto blank = [&](const Field& f) {
    return f.n == 0 || (static_cast<uint8_t>(f.p[0]) <= 0x20 && is_blank(reinterpret_cast<const uint8_t*>(f.p), f.n));
  };
  if (blank(u) || blank(it)) {
    row_invalid(line_no, s, n);
    return;
  }

  // Number(): a decimal literal with JavaScript white space around it
  auto number = [&](const Field& f, double* v) {
    auto* p = reinterpret_cast<const uint8_t*>(f.p);
    size_t len = f.n;
    for (size_t k; (k = space_at(p, len, latin1)) > 0;) p += k, len -= k;
    for (size_t k; (k = space_before(p, len, latin1)) > 0;) len -= k;
    return parse_decimal(reinterpret_cast<const char*>(p), len, v);
  };
  float r = 1;
  if (layout_.rating >= 0) {
    double v;
    if (!number(fields_[static_cast<size_t>(layout_.rating)], &v) || !(std::fabs(v) <= kFloat32Max)) {
      row_invalid(line_no, s, n);
      return;
    }
    r = static_cast<float>(v);
  }
  double t = 0;
  if (layout_.timestamp >= 0) {
    if (!number(fields_[static_cast<size_t>(layout_.timestamp)], &t) || !(std::fabs(t) <= kMaxSafeInteger)) {
      row_invalid(line_no, s, n);
      return;
    }
  }
  const bool transient = u.unquoted >= 0 || it.unquoted >= 0 || !in_place_;
  enqueue(QueuedRow{users_.key(u.p, u.n), items_.key(it.p, it.n), r, t, static_cast<uint32_t>(line_no)}, transient);
  if (rows() >= layout_.limit) done_ = true;
}

void DelimitedReader::enqueue(const QueuedRow& row, bool transient) {
  if (queued_ == kQueue) {
    resolve(queue_[queue_head_]);
    queue_head_ = (queue_head_ + 1) % kQueue;
    queued_--;
  }
  queue_[(queue_head_ + queued_) % kQueue] = row;
  queued_++;
  if (transient) drain();
}

void DelimitedReader::drain() {
  while (queued_ > 0) {
    resolve(queue_[queue_head_]);
    queue_head_ = (queue_head_ + 1) % kQueue;
    queued_--;
  }
}

void DelimitedReader::resolve(const QueuedRow& row) {
  // files grouped by user repeat the user: then no lookup at all
  int32_t ui;
  const IdDictionary::Key& u = row.user;
  if (last_user_index_ >= 0 && last_user_.size() == u.n && std::memcmp(last_user_.data(), u.s, u.n) == 0) {
    ui = last_user_index_;
  } else {
    ui = users_.add(u);
    last_user_.assign(u.s, u.n);
    last_user_index_ = ui;
  }
  user_.push_back(ui);
  item_.push_back(items_.add(row.item));
  rating_.push_back(row.rating);
  if (layout_.timestamp >= 0) timestamp_.push_back(row.timestamp);
  line_.push_back(row.line);
}

}  // namespace affinity
