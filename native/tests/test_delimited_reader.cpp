// ctest: native/core delimited_reader — the reference reader's rules (src/data/readers.ts) on small
// inputs fed in every split, decimal literals against known doubles, and each error kind. Needs no
// Node. (test/data.fastReader.test.ts compares it with the reference itself on fixtures and fuzz.)
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "affinity/delimited_reader.h"
#include "reference.h"

using namespace affinity;
using namespace affinity_test;

namespace {

struct Run {
  ReadStatus status;
  std::vector<int32_t> user, item;
  std::vector<float> rating;
  std::vector<double> ts;
  std::vector<uint32_t> line;
  std::vector<std::string> users, items;
  ReadError error;
  int64_t lines = 0, skipped = 0;
};

std::vector<std::string> ids(const IdDictionary& d) {
  std::vector<std::string> out;
  for (int32_t k = 0; k < d.size(); k++) out.emplace_back(d.bytes().substr(d.offsets()[k], d.offsets()[k + 1] - d.offsets()[k]));
  return out;
}

/** Feeds `text` in pieces of `piece` bytes (0: whole). */
Run read(const DelimitedLayout& l, const std::string& text, size_t piece, int64_t lines_before = 1) {
  DelimitedReader r(l, lines_before);
  Run out;
  out.status = ReadStatus::More;
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  size_t at = 0;
  const size_t step = piece == 0 ? text.size() : piece;
  do {
    const size_t n = std::min(step, text.size() - at);
    out.status = r.feed(p + at, n, at + n == text.size());
    at += n;
  } while (out.status == ReadStatus::More && at < text.size());
  if (out.status == ReadStatus::More && text.empty()) out.status = r.feed(p, 0, true);
  out.user = r.user();
  out.item = r.item();
  out.rating = r.rating();
  out.ts = r.timestamp();
  out.line = r.line();
  out.users = ids(r.users());
  out.items = ids(r.items());
  out.error = r.error();
  out.lines = r.lines();
  out.skipped = r.skipped();
  return out;
}

DelimitedLayout csv(int width = 3) {
  DelimitedLayout l;
  l.delimiter = ",";
  l.user = 0;
  l.item = 1;
  l.rating = 2;
  l.width = width;
  return l;
}

/** The same result for every piece size. */
void check_splits(const DelimitedLayout& l, const std::string& text, const char* what) {
  const Run whole = read(l, text, 0);
  for (size_t piece = 1; piece <= text.size(); piece++) {
    const Run r = read(l, text, piece);
    CHECK(r.status == whole.status && r.user == whole.user && r.item == whole.item && r.rating == whole.rating && r.line == whole.line &&
              r.users == whole.users && r.items == whole.items && r.error.kind == whole.error.kind && r.error.line == whole.error.line &&
              r.lines == whole.lines,
          "%s: feeding %zu bytes at a time differs from one feed", what, piece);
  }
}

void test_rows() {
  const std::string text = "u1,i1,5\r\nu1,i2,3.5\n\n  \t\nu2,\"i,3\",1e0\nu3,\"multi\nline\"\"q\",-0\nu2,i1,.5";
  const Run r = read(csv(), text, 0);
  CHECK(r.status == ReadStatus::More, "status %d", static_cast<int>(r.status));
  CHECK(r.user == (std::vector<int32_t>{0, 0, 1, 2, 1}), "users");
  CHECK(r.item == (std::vector<int32_t>{0, 1, 2, 3, 0}), "items");
  CHECK(r.items == (std::vector<std::string>{"i1", "i2", "i,3", "multi\nline\"q"}), "unquoted item ids");
  CHECK(r.rating == (std::vector<float>{5, 3.5f, 1, -0.0f, 0.5f}), "ratings");
  CHECK(std::signbit(r.rating[3]), "-0 keeps its sign");
  CHECK(r.line == (std::vector<uint32_t>{2, 3, 6, 7, 9}), "line numbers (the record's first line)");
  CHECK(r.lines == 9, "lines %lld", static_cast<long long>(r.lines));
  check_splits(csv(), text, "rows");
}

void test_errors() {
  const Run a = read(csv(), "u1,i1,5\nu2,i2,abc\nu3,i3,1\n", 0);
  CHECK(a.status == ReadStatus::Error && a.error.kind == ReadErrorKind::Row && a.error.line == 3 && a.error.text == "u2,i2,abc", "bad rating");
  CHECK(a.user.size() == 1, "rows before the error are kept");
  DelimitedLayout skip = csv();
  skip.skip_invalid = true;
  const Run b = read(skip, "u1,i1,5\nu2,i2,0x10\nu3,,1\n u4 ,i3,Infinity\nu5,i4,1,extra\nu6,i5,3e38\nu7,i6,4e38\n", 0);
  CHECK(b.status == ReadStatus::More && b.skipped == 5 && b.user.size() == 2, "skipped %lld, rows %zu", static_cast<long long>(b.skipped), b.user.size());
  DelimitedLayout extra = csv();
  extra.extra_ignore = true;
  CHECK(read(extra, "u5,i4,1,extra\n", 0).user.size() == 1, "extra columns ignored");
  const Run c = read(csv(), "u1,i1,5\nu2,\"open\n", 0);
  CHECK(c.error.kind == ReadErrorKind::QuoteUnclosed && c.error.line == 3, "unclosed quote at the end");
  std::string big = "u1,\"";
  big.append(1 << 20, 'x');
  big += "\nmore\n";
  const Run d = read(csv(), big, 0);
  CHECK(d.error.kind == ReadErrorKind::QuoteTooLong && d.error.line == 2, "quote open past 1 MiB");
  const Run e = read(csv(), "u1,i1,5\nu\xe9,i1,5\n", 0);
  CHECK(e.error.kind == ReadErrorKind::Encoding && e.error.line == 3 && e.error.text == "u\xe9,i1,5\n", "invalid UTF-8 names its line");
  DelimitedLayout latin = csv();
  latin.encoding = TextEncoding::Latin1;
  const Run f = read(latin, "u\xe9,i1,5\n", 0);
  CHECK(f.status == ReadStatus::More && f.users == std::vector<std::string>{"u\xe9"}, "latin1 keeps the byte");
  DelimitedLayout autod = csv();
  autod.encoding = TextEncoding::Auto;
  const Run g = read(autod, "a,b,1\nu\xc3\xa9,i,1\nu\xe9,i,1\n", 0);
  CHECK(g.error.kind == ReadErrorKind::Encoding && g.error.line == 4, "auto: UTF-8 decided, a later Latin-1 line is an error");
  const Run h = read(csv(), "u1,i1,\xc2\xa0" "4\xe3\x80\x80\n", 0);
  CHECK(h.status == ReadStatus::More && h.rating == std::vector<float>{4}, "JavaScript white space around a number");
  check_splits(skip, "u1,i1,5\nu2,i2,0x10\nu3,,1\n", "skips");
}

void test_limit_and_seed() {
  DelimitedLayout l = csv();
  l.limit = 3;
  DelimitedReader r(l, 1);
  r.seed_user("u0", 2);
  r.seed_item("i0", 2);
  r.seed_row(0, 0, 1, 0, 2);
  const std::string text = "u0,i1,1\nu1,i0,1\nu2,i2,1\n";
  const ReadStatus s = r.feed(reinterpret_cast<const uint8_t*>(text.data()), text.size(), false);
  CHECK(s == ReadStatus::Done && r.rows() == 3 && r.lines() == 3, "limit counts the seeded row: rows %lld lines %lld", static_cast<long long>(r.rows()),
        static_cast<long long>(r.lines()));
  CHECK(r.user()[1] == 0 && r.item()[2] == 0, "seeded ids keep their indices");
}

void test_decimals() {
  struct Case {
    const char* text;
    double want;
  };
  const Case ok[] = {{"0", 0},          {"1", 1},          {"+1", 1},           {"1.", 1},       {".5", 0.5},
                     {"0.1", 0.1},      {"3.14159", 3.14159}, {"1e3", 1000},   {"1E-3", 0.001}, {"2.5e+2", 250},
                     {"123456789012345678901234567890", 123456789012345678901234567890.0},
                     {"0.000000000000000000000000000001", 1e-30}, {"9007199254740993", 9007199254740992.0},
                     {"1e-310", 1e-310}, {"4.9e-324", 4.9e-324}, {"2e-324", 0}, {"1.7976931348623157e308", 1.7976931348623157e308},
                     {"00012.50", 12.5}, {"1e-400", 0}};
  for (const Case& c : ok) {
    double v = -1;
    const bool parsed = parse_decimal(c.text, std::strlen(c.text), &v);
    CHECK(parsed && v == c.want, "%s → %.17g (want %.17g)", c.text, v, c.want);
  }
  double v;
  CHECK(parse_decimal("1e400", 5, &v) && std::isinf(v), "1e400 overflows to Infinity");
  CHECK(parse_decimal("-0", 2, &v) && v == 0 && std::signbit(v), "-0");
  for (const char* bad : {"", ".", "e5", "1e", "1e+", "0x10", "Infinity", "inf", "nan", "1.2.3", "--1", "+-1", "1 2", "1_000", "١"}) {
    CHECK(!parse_decimal(bad, std::strlen(bad), &v), "'%s' is not a decimal literal", bad);
  }
}

void test_dictionary() {
  IdDictionary d;
  std::vector<std::string> keys;
  for (int k = 0; k < 50000; k++) keys.push_back("id" + std::to_string(k * 7919 % 100003));
  for (size_t k = 0; k < keys.size(); k++) CHECK(d.add(keys[k].data(), keys[k].size()) == static_cast<int32_t>(k), "first add of %s", keys[k].c_str());
  for (size_t k = 0; k < keys.size(); k += 97) CHECK(d.add(keys[k].data(), keys[k].size()) == static_cast<int32_t>(k), "second add of %s", keys[k].c_str());
  CHECK(d.add("", 0) == 50000 && d.add("", 0) == 50000, "the empty id is an id");
}

void test_layout() {
  DelimitedLayout l = csv();
  CHECK(DelimitedReader::validate(l).empty(), "a CSV layout is valid");
  l.delimiter = "";
  CHECK(!DelimitedReader::validate(l).empty(), "an empty delimiter is refused");
  l.delimiter = "\xc2\xa6";
  CHECK(!DelimitedReader::validate(l).empty(), "a non-ASCII delimiter is refused (the reference reads it)");
  DelimitedLayout ml = csv(4);
  ml.delimiter = "::";
  ml.timestamp = 3;
  const Run r = read(ml, "1::2::5::978300760\n1:::3::4::1\n1::2::3\n", 0);
  CHECK(r.ts == (std::vector<double>{978300760, 1}) && r.items == (std::vector<std::string>{"2", ":3"}), "'::' splits as String.split does");
  CHECK(r.error.kind == ReadErrorKind::Row && r.error.line == 4, "a row of 3 fields under a 4-field header");
}

}  // namespace

int main() {
  test_rows();
  test_errors();
  test_limit_and_seed();
  test_decimals();
  test_dictionary();
  test_layout();
  return report("test_delimited_reader");
}
