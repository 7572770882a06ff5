// affinity native core: the fast path of the delimited-text interaction reader. Plain C++17, no Node.
//
// The contract is src/data/readers.ts (the reference reader): this parses the data rows of a
// delimited file (CSV with RFC 4180 quotes, TSV, '::', any ASCII delimiter) after the reference
// has read the first record and decided the layout (delimiter, column positions, header width),
// and must accept, reject and skip exactly the rows the reference does:
//
//   lines     split at LF; one CR before the LF (or at the end of the input) is dropped;
//   encoding  every physical line is checked before it is parsed: 'utf8' strict (no overlong
//             forms, surrogates or code points past U+10FFFF, as Node's isUtf8), 'latin1' any
//             byte, 'auto' decided by the first line holding a non-ASCII byte (UTF-8 if that
//             line is valid UTF-8, else Latin-1);
//   blank     an empty line, or one whose first byte is ≤ 0x20 and that holds only JavaScript
//             white space (String.prototype.trim), is skipped;
//   records   splitRecord() of src/data/csvLine.ts, byte for byte: a field starting with '"'
//             runs to its closing quote ("" is one quote) and may span lines, which are joined
//             with LF; text between the closing quote and the delimiter is kept; a record whose
//             quote is still open after 1 MiB of text (counted in UTF-16 units, as JS strings
//             are) or at the end of the input is an error that is never skipped;
//   rows      fields < the highest column used + 1, or ≠ the header's width (unless
//             extra_ignore), a blank user or item id, a rating or timestamp that is not a
//             decimal literal (JS white space around it allowed), a rating beyond ±FLT_MAX or a
//             timestamp beyond ±(2^53 − 1) are invalid: an error, or skipped when skip_invalid;
//   numbers   the double nearest the decimal literal (what Number() gives), the rating then
//             rounded to float32 (as a Float32Array store does);
//   ids       the field's bytes (after unquoting), mapped to dense indices in first-seen order.
//
// The reader never formats a message: on an error it stops and reports the kind, the line and
// the text (record or line bytes), and the caller has the reference build the message, so
// the wording exists once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace affinity {

/** Byte strings ↔ dense indices 0..size−1 in first-seen order (open addressing over an arena). */
class IdDictionary {
 public:
  IdDictionary();
  /** An id with its hash, its table slot prefetched: look it up with add(key) a little later. */
  struct Key {
    const char* s;
    size_t n;
    uint64_t head, hash;
  };
  Key key(const char* s, size_t n) const;
  /** Index of the id, adding it when new. */
  int32_t add(const Key& k);
  int32_t add(const char* s, size_t n) { return add(key(s, n)); }
  int32_t size() const { return static_cast<int32_t>(offsets_.size() - 1); }
  /** Fetch the key's slot into the cache again (after the table may have grown). */
  void prefetch(const Key& k) const { __builtin_prefetch(&slots_[k.hash & mask_]); }
  /** The ids' bytes back to back; id k is bytes()[offsets()[k] .. offsets()[k+1]). */
  const std::string& bytes() const { return arena_; }
  const std::vector<int64_t>& offsets() const { return offsets_; }

 private:
  /** One table entry: an id's first 8 bytes (zero-padded) and length, so that ids up to 8 bytes compare without the arena. */
  struct Slot {
    uint64_t head;
    uint32_t length;
    uint32_t index1;  // index + 1 (0 = empty)
  };
  void grow();
  std::string arena_;
  std::vector<int64_t> offsets_;
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
};

enum class TextEncoding : int { Utf8 = 0, Latin1 = 1, Auto = 2 };

struct DelimitedLayout {
  std::string delimiter = ",";  // ASCII, non-empty
  bool quotes = true;
  int32_t user = 0, item = 1;
  int32_t rating = -1;     // −1: implicit (every weight 1)
  int32_t timestamp = -1;  // −1: none
  int32_t width = 0;       // the header's (or first row's) field count
  bool extra_ignore = false;
  bool skip_invalid = false;
  int64_t limit = INT64_MAX;  // rows to read (those already seeded included)
  TextEncoding encoding = TextEncoding::Utf8;
};

enum class ReadStatus : int { More = 0, Done = 1, Error = 2 };

enum class ReadErrorKind : int {
  None = 0,
  Row = 1,            // an invalid row (text: the record, lines joined by LF)
  Encoding = 2,       // invalid UTF-8 (text: the line's bytes, LF included when present)
  QuoteTooLong = 3,   // a quoted field still open after 1 MiB (text: the record's first bytes)
  QuoteUnclosed = 4,  // a quoted field open at the end of the input (text: the record's first bytes)
};

struct ReadError {
  ReadErrorKind kind = ReadErrorKind::None;
  int64_t line = 0;  // 1-based: the record's first line (the bad line for Encoding)
  std::string text;
};

class DelimitedReader {
 public:
  /** `lines_before`: physical lines the caller has already consumed (the next is lines_before + 1). */
  DelimitedReader(DelimitedLayout layout, int64_t lines_before);

  /** "" when the layout is usable, else what is wrong with it. */
  static std::string validate(const DelimitedLayout& layout);

  /** Ids and rows the caller read before handing over (they keep their indices and order). */
  int32_t seed_user(const char* s, size_t n) { return users_.add(s, n); }
  int32_t seed_item(const char* s, size_t n) { return items_.add(s, n); }
  void seed_row(int32_t u, int32_t i, float r, double t, uint32_t line);
  /** Room for about this many rows (an estimate from the input's size). */
  void reserve(int64_t rows);

  /**
   * Parses the next bytes of the input (any split; an incomplete last line is kept for the next
   * call). `last`: no more input follows. Done: `limit` rows are in (stop reading). Error: see
   * error(); the reader must not be fed again.
   */
  ReadStatus feed(const uint8_t* data, size_t n, bool last);

  const ReadError& error() const { return error_; }
  int64_t rows() const { return static_cast<int64_t>(user_.size()) + static_cast<int64_t>(queued_); }
  /** physical lines consumed, lines_before included */
  int64_t lines() const { return lines_; }
  int64_t skipped() const { return skipped_; }
  bool has_timestamp() const { return layout_.timestamp >= 0; }
  /** the encoding in force ('auto' until a non-ASCII line decided it) */
  TextEncoding encoding() const { return mode_; }

  std::vector<int32_t>& user() { return user_; }
  std::vector<int32_t>& item() { return item_; }
  std::vector<float>& rating() { return rating_; }
  std::vector<double>& timestamp() { return timestamp_; }
  std::vector<uint32_t>& line() { return line_; }
  const IdDictionary& users() const { return users_; }
  const IdDictionary& items() const { return items_; }

 private:
  struct Field {
    const char* p;
    size_t n;
    int32_t unquoted;  // index into unquoted_ (its data() is taken once the split is complete), or −1
  };
  size_t parse(const uint8_t* data, size_t n, bool last);
  bool line_ok(const uint8_t* p, size_t n, int64_t line_no);
  bool is_blank(const uint8_t* p, size_t n) const;
  /** splitRecord: false when a quoted field is still open at the end of the text */
  bool split(const char* s, size_t n);
  /** one complete record: checks, converts, appends (or skips / stops) */
  void record(const char* s, size_t n, int64_t line_no);
  bool row_invalid(int64_t line_no, const char* s, size_t n);
  /**
   * Rows wait in a short queue between parsing and the id lookups, so that the lookups' table
   * slots (prefetched when the row is queued) arrive from memory while the next rows are parsed:
   * on an input not grouped by user most lookups miss the cache. Lookups still happen in row
   * order (first-seen indices are kept); a row whose ids live in scratch memory (unquoted fields,
   * a record spanning lines, the carried line) drains the queue at once.
   */
  struct QueuedRow {
    IdDictionary::Key user, item;
    float rating;
    double timestamp;
    uint32_t line;
  };
  static constexpr size_t kQueue = 16;
  void enqueue(const QueuedRow& row, bool transient);
  void resolve(const QueuedRow& row);
  void drain();
  int64_t utf16_length(const uint8_t* p, size_t n) const;

  DelimitedLayout layout_;
  int32_t need_ = 0;
  TextEncoding mode_;
  IdDictionary users_, items_;
  std::vector<int32_t> user_, item_;
  std::vector<float> rating_;
  std::vector<double> timestamp_;
  std::vector<uint32_t> line_;
  int64_t lines_ = 0, skipped_ = 0;
  bool done_ = false;
  ReadError error_;

  std::string carry_;          // an incomplete line from the previous feed
  std::string pending_;        // a record whose quoted field is open (lines joined by LF)
  int64_t pending_line_ = 0;
  int64_t pending_utf16_ = 0;
  bool has_pending_ = false;
  bool in_place_ = true;  // the record being parsed lies in the caller's buffer (not in pending_)

  // the current record's fields (split) and scratch for unquoted field values
  std::vector<Field> fields_;
  std::vector<std::string> unquoted_;
  size_t unquoted_used_ = 0;
  std::string last_user_;
  int32_t last_user_index_ = -1;
  QueuedRow queue_[kQueue];
  size_t queue_head_ = 0, queued_ = 0;
};

/** The double nearest a decimal literal `[+-]digits[.digits][(e|E)[+-]digits]` (at least one digit before the exponent); false if `s` is not one. */
bool parse_decimal(const char* s, size_t n, double* out);

}  // namespace affinity
