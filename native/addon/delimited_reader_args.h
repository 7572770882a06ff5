// The DelimitedReader class of affinity_native.node: the binding of native/core's delimited
// reader (affinity/delimited_reader.h), driven by src/data/fastReader.ts.
//
//   const r = new DelimitedReader({
//     delimiter: string (ASCII), quotes: boolean, user, item: column ≥ 0, rating, timestamp: column or −1,
//     width: fields of the header, extraColumns: 'error'|'ignore', skipInvalid: boolean,
//     limit: rows (≥ 1, Infinity for none), encoding: 'utf8'|'latin1'|'auto', linesBefore: lines already read,
//     expectedRows?: rows to make room for })
//   r.seedUser(bytes: Uint8Array) → index, r.seedItem(bytes) → index, r.seedRow(u, i, rating, timestamp, line)
//   r.feed(chunk: Uint8Array, last: boolean) → 0 more | 1 done (limit reached) | 2 error   (synchronous)
//   r.error() → { kind: 'row'|'encoding'|'quoteTooLong'|'quoteUnclosed', line, text: Buffer, encoding } | null
//   r.rows() → rows so far, r.reserve(rows) → makes room for that many rows
//   r.finish() → { user: Int32Array, item: Int32Array, rating: Float32Array, timestamp: Float64Array | null,
//                  line: Uint32Array, users: { bytes: Buffer, offsets: Float64Array }, items: {…},
//                  lines, skipped, encoding }   (the columns are the reader's own memory, handed over: no copy)
//
// Every argument is type-checked here; the layout by DelimitedReader::validate. feed() copies nothing
// it does not keep (an incomplete last line), so the chunk may be reused once it returns.
#pragma once

#include <napi.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "affinity/delimited_reader.h"
#include "kernel_args.h"

namespace affinity {
namespace addon {

inline const char* const kEncodings[] = {"utf8", "latin1", "auto"};

class DelimitedReaderWrap : public Napi::ObjectWrap<DelimitedReaderWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "DelimitedReader",
                       {InstanceMethod("seedUser", &DelimitedReaderWrap::SeedUser), InstanceMethod("seedItem", &DelimitedReaderWrap::SeedItem),
                        InstanceMethod("seedRow", &DelimitedReaderWrap::SeedRow), InstanceMethod("feed", &DelimitedReaderWrap::Feed),
                        InstanceMethod("error", &DelimitedReaderWrap::Error), InstanceMethod("finish", &DelimitedReaderWrap::Finish),
                        InstanceMethod("rows", &DelimitedReaderWrap::Rows), InstanceMethod("reserve", &DelimitedReaderWrap::Reserve)});
  }

  explicit DelimitedReaderWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DelimitedReaderWrap>(info) {
    ObjectArgs o(info, "DelimitedReader");
    DelimitedLayout l;
    l.delimiter = o.string("delimiter");
    l.quotes = o.boolean("quotes", true);
    l.user = static_cast<int32_t>(o.integer("user", 0, kMaxIndex));
    l.item = static_cast<int32_t>(o.integer("item", 0, kMaxIndex));
    l.rating = static_cast<int32_t>(o.integer("rating", -1, kMaxIndex));
    l.timestamp = static_cast<int32_t>(o.integer("timestamp", -1, kMaxIndex));
    l.width = static_cast<int32_t>(o.integer("width", 1, kMaxIndex));
    const std::string extra = o.has("extraColumns") ? o.string("extraColumns") : std::string("error");
    if (extra != "error" && extra != "ignore") o.range_error("extraColumns must be 'error' or 'ignore', got '" + extra + "'");
    l.extra_ignore = extra == "ignore";
    l.skip_invalid = o.boolean("skipInvalid", false);
    const double limit = o.number("limit", INFINITY, true, true);
    if (!(limit >= 1)) o.range_error("limit must be ≥ 1");
    l.limit = limit >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(limit);
    const std::string enc = o.string("encoding");
    if (enc == "utf8") l.encoding = TextEncoding::Utf8;
    else if (enc == "latin1") l.encoding = TextEncoding::Latin1;
    else if (enc == "auto") l.encoding = TextEncoding::Auto;
    else o.range_error("encoding must be utf8, latin1 or auto, got '" + enc + "'");
    const int64_t before = o.integer("linesBefore", 0, int64_t{1} << 52);
    const int64_t expected = o.integer("expectedRows", 0, int64_t{1} << 40, true, 0);
    const std::string problem = DelimitedReader::validate(l);
    if (!problem.empty()) o.range_error(problem);
    reader_ = std::make_unique<DelimitedReader>(std::move(l), before);
    reader_->reserve(expected);
  }

 private:
  static std::pair<const char*, size_t> bytes(const Napi::CallbackInfo& info, size_t at, const char* what) {
    if (info.Length() <= at || !info[at].IsTypedArray() || info[at].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throw Napi::TypeError::New(info.Env(), std::string("DelimitedReader.") + what + ": expects a Uint8Array");
    Napi::Uint8Array a = info[at].As<Napi::Uint8Array>();
    return {reinterpret_cast<const char*>(a.Data()), a.ElementLength()};
  }

  DelimitedReader& live(const Napi::CallbackInfo& info) {
    if (!reader_) throw Napi::Error::New(info.Env(), "DelimitedReader: already finished");
    return *reader_;
  }

  Napi::Value SeedUser(const Napi::CallbackInfo& info) {
    const auto [p, n] = bytes(info, 0, "seedUser");
    return Napi::Number::New(info.Env(), live(info).seed_user(p, n));
  }
  Napi::Value SeedItem(const Napi::CallbackInfo& info) {
    const auto [p, n] = bytes(info, 0, "seedItem");
    return Napi::Number::New(info.Env(), live(info).seed_item(p, n));
  }

  Napi::Value SeedRow(const Napi::CallbackInfo& info) {
    DelimitedReader& r = live(info);
    auto num = [&](size_t k) {
      if (info.Length() <= k || !info[k].IsNumber()) throw Napi::TypeError::New(info.Env(), "DelimitedReader.seedRow: expects (user, item, rating, timestamp, line) numbers");
      return info[k].As<Napi::Number>().DoubleValue();
    };
    const double u = num(0), i = num(1), rating = num(2), t = num(3), line = num(4);
    if (!(u >= 0 && u < r.users().size() && i >= 0 && i < r.items().size() && std::floor(u) == u && std::floor(i) == i))
      throw Napi::RangeError::New(info.Env(), "DelimitedReader.seedRow: user/item index is not a seeded id");
    if (!(line >= 1 && line <= 4294967295.0)) throw Napi::RangeError::New(info.Env(), "DelimitedReader.seedRow: bad line");
    r.seed_row(static_cast<int32_t>(u), static_cast<int32_t>(i), static_cast<float>(rating), t, static_cast<uint32_t>(line));
    return info.Env().Undefined();
  }

  Napi::Value Feed(const Napi::CallbackInfo& info) {
    const auto [p, n] = bytes(info, 0, "feed");
    if (info.Length() < 2 || !info[1].IsBoolean()) throw Napi::TypeError::New(info.Env(), "DelimitedReader.feed: expects (chunk, last: boolean)");
    const ReadStatus s = live(info).feed(reinterpret_cast<const uint8_t*>(p), n, info[1].As<Napi::Boolean>().Value());
    return Napi::Number::New(info.Env(), static_cast<int>(s));
  }

  Napi::Value Rows(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(live(info).rows())); }

  Napi::Value Reserve(const Napi::CallbackInfo& info) {
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "DelimitedReader.reserve: expects a row count");
    const double n = info[0].As<Napi::Number>().DoubleValue();
    if (!(n >= 0 && n <= 1e12)) throw Napi::RangeError::New(info.Env(), "DelimitedReader.reserve: row count out of range");
    live(info).reserve(static_cast<int64_t>(n));
    return info.Env().Undefined();
  }

  Napi::Value Error(const Napi::CallbackInfo& info) {
    const ReadError& e = live(info).error();
    Napi::Env env = info.Env();
    if (e.kind == ReadErrorKind::None) return env.Null();
    static const char* kinds[] = {"none", "row", "encoding", "quoteTooLong", "quoteUnclosed"};
    Napi::Object o = Napi::Object::New(env);
    o.Set("kind", kinds[static_cast<int>(e.kind)]);
    o.Set("line", static_cast<double>(e.line));
    o.Set("text", Napi::Buffer<char>::Copy(env, e.text.data(), e.text.size()));
    o.Set("encoding", kEncodings[static_cast<int>(live(info).encoding())]);
    return o;
  }

  /** A typed array over `v`'s memory, which the ArrayBuffer then owns (freed by its finalizer). */
  template <typename T, typename View>
  static Napi::Value hand_over(Napi::Env env, std::vector<T>& v) {
    const size_t n = v.size();
    if (n == 0) return View::New(env, 0);
    auto* owned = new std::vector<T>(std::move(v));
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, owned->data(), n * sizeof(T), [](Napi::Env, void*, std::vector<T>* hint) { delete hint; }, owned);
    return View::New(env, n, ab, 0);
  }

  static Napi::Object ids(Napi::Env env, const IdDictionary& d) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytes", Napi::Buffer<char>::Copy(env, d.bytes().data(), d.bytes().size()));
    const auto& off = d.offsets();
    Napi::Float64Array offsets = Napi::Float64Array::New(env, off.size());
    for (size_t k = 0; k < off.size(); k++) offsets[k] = static_cast<double>(off[k]);
    o.Set("offsets", offsets);
    return o;
  }

  Napi::Value Finish(const Napi::CallbackInfo& info) {
    DelimitedReader& r = live(info);
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    const bool has_ts = r.has_timestamp();
    o.Set("user", hand_over<int32_t, Napi::Int32Array>(env, r.user()));
    o.Set("item", hand_over<int32_t, Napi::Int32Array>(env, r.item()));
    o.Set("rating", hand_over<float, Napi::Float32Array>(env, r.rating()));
    o.Set("timestamp", has_ts ? hand_over<double, Napi::Float64Array>(env, r.timestamp()) : env.Null());
    o.Set("line", hand_over<uint32_t, Napi::Uint32Array>(env, r.line()));
    o.Set("users", ids(env, r.users()));
    o.Set("items", ids(env, r.items()));
    o.Set("lines", static_cast<double>(r.lines()));
    o.Set("skipped", static_cast<double>(r.skipped()));
    o.Set("encoding", kEncodings[static_cast<int>(r.encoding())]);
    reader_.reset();
    return o;
  }

  std::unique_ptr<DelimitedReader> reader_;
};

}  // namespace addon
}  // namespace affinity
