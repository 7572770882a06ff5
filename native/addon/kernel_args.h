// Argument checking shared by every kernel binding, each called with one options object
// (denseScoreTopK, sparseSimilarityTopK, alsHalfStep, sgdEpoch, bprEpoch): typed arrays are read from named
// properties, every element type and length is checked on the JS thread before a worker is
// queued, and a bad call throws a JS TypeError/RangeError naming the kernel and the property.
// A generic AsyncWorker runs the validated call off the event loop and settles a Promise.
//
// Index arrays (CSR indptr/indices, example ids, visiting orders) are copied into memory the
// addon owns (ObjectArgs::own_indices) before they are validated: a kernel addresses memory
// with their values, and the caller's typed array can change while the worker runs (the
// caller writes into it, or another thread writes into its SharedArrayBuffer). Validating the
// caller's array and reading it later would let such a write send the kernel out of bounds; the
// validated copy cannot change. Value arrays (ratings, factors, scores) are read in place: a
// write into them mid-call gives wrong numbers, never a wild address.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "affinity/cancel.h"
#include "affinity/huge_pages.h"
#include "affinity/platform.h"

namespace affinity {
namespace addon {

/** Largest row count, id or index a kernel takes: ids and CSR indices are Int32Array in JS. */
constexpr int64_t kMaxIndex = 2147483647;

/** What a queued call keeps alive until it settles: the caller's typed arrays and the addon's own copies of index arrays. */
struct CallRefs {
  std::vector<Napi::ObjectReference> arrays;
  std::vector<HugePageBuffer> copies;
};

/** Reads the properties of one call's options object; keeps the typed arrays alive. */
class ObjectArgs {
 public:
  ObjectArgs(const Napi::CallbackInfo& info, const char* kernel) : env_(info.Env()), kernel_(kernel) {
    if (info.Length() < 1 || !info[0].IsObject() || info[0].IsArray() || info[0].IsTypedArray())
      type_error("expects one options object");
    obj_ = info[0].As<Napi::Object>();
  }

  struct Array {
    void* data = nullptr;
    int64_t length = 0;  // elements
    int64_t bytes = 0;
    napi_typedarray_type type = napi_uint8_array;
    bool present() const { return data != nullptr || length > 0; }
  };

  [[noreturn]] void type_error(const std::string& msg) const { throw Napi::TypeError::New(env_, std::string(kernel_) + ": " + msg); }
  [[noreturn]] void range_error(const std::string& msg) const { throw Napi::RangeError::New(env_, std::string(kernel_) + ": " + msg); }

  bool has(const char* name) const {
    Napi::Value v = obj_.Get(name);
    return !(v.IsUndefined() || v.IsNull());
  }

  /** A typed array property of one of the allowed types (at most two); null/undefined allowed when optional. */
  Array typed(const char* name, napi_typedarray_type t1, const char* type_name, bool optional = false,
              napi_typedarray_type t2 = napi_uint8_array /* none */) {
    Array a;
    Napi::Value v = obj_.Get(name);
    if (v.IsUndefined() || v.IsNull()) {
      if (optional) return a;
      type_error(std::string(name) + " must be " + type_name);
    }
    if (!v.IsTypedArray()) type_error(std::string(name) + " must be " + type_name);
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    const napi_typedarray_type t = ta.TypedArrayType();
    if (t != t1 && !(t2 != napi_uint8_array && t == t2)) type_error(std::string(name) + " must be " + type_name);
    a.type = t;
    a.length = static_cast<int64_t>(ta.ElementLength());
    a.bytes = static_cast<int64_t>(ta.ByteLength());
    // the view's own data pointer (works for SharedArrayBuffer-backed views; a detached buffer
    // reads as length 0)
    void* data = nullptr;
    size_t len = 0;
    napi_typedarray_type tt;
    napi_value ab;
    size_t off = 0;
    if (napi_get_typedarray_info(env_, ta, &tt, &len, &data, &ab, &off) != napi_ok) type_error(std::string(name) + ": cannot read the typed array");
    a.data = a.bytes > 0 ? data : nullptr;
    refs_.push_back(Napi::Persistent(ta.As<Napi::Object>()));
    arrays_.push_back({name, a});
    return a;
  }

  /** A finite number property; `def` when absent (or required when !has_default). */
  double number(const char* name, double def, bool has_default, bool allow_infinite = false) const {
    Napi::Value v = obj_.Get(name);
    if (v.IsUndefined() || v.IsNull()) {
      if (has_default) return def;
      type_error(std::string(name) + " must be a number");
    }
    if (!v.IsNumber()) type_error(std::string(name) + " must be a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d) || (!allow_infinite && !std::isfinite(d))) range_error(std::string(name) + " must be a finite number, got " + std::to_string(d));
    return d;
  }

  /** An integer property in [lo, hi]. */
  int64_t integer(const char* name, int64_t lo, int64_t hi, bool has_default = false, int64_t def = 0) const {
    Napi::Value v = obj_.Get(name);
    if ((v.IsUndefined() || v.IsNull()) && has_default) return def;
    if (!v.IsNumber()) type_error(std::string(name) + " must be an integer");
    const double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::floor(d) != d) range_error(std::string(name) + " must be an integer, got " + std::to_string(d));
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
      range_error(std::string(name) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " +
                  std::to_string(static_cast<int64_t>(d)));
    return static_cast<int64_t>(d);
  }

  bool boolean(const char* name, bool def) const {
    Napi::Value v = obj_.Get(name);
    if (v.IsUndefined() || v.IsNull()) return def;
    if (!v.IsBoolean()) type_error(std::string(name) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }

  std::string string(const char* name) const {
    Napi::Value v = obj_.Get(name);
    if (!v.IsString()) type_error(std::string(name) + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }

  /**
   * The optional `threads` property. max_threads > 1: an integer in [1, max_threads], default
   * hardware_threads(). max_threads ≤ 1 (a backend without CPU threads): still type-checked so
   * every addon takes the same options, then ignored (1).
   */
  int threads(int max_threads) const {
    if (max_threads > 1) return static_cast<int>(integer("threads", 1, max_threads, true, hardware_threads()));
    integer("threads", 1, 1 << 20, true, 1);
    return 1;
  }

  /** length must equal `want` */
  void expect_length(const char* name, const Array& a, int64_t want, const char* what) const {
    if (a.length != want)
      range_error(std::string(name) + " has length " + std::to_string(a.length) + ", expected " + what + " = " + std::to_string(want));
  }
  void expect_min_length(const char* name, const Array& a, int64_t want, const char* what) const {
    if (a.length < want)
      range_error(std::string(name) + " has length " + std::to_string(a.length) + ", needs " + what + " = " + std::to_string(want));
  }

  /** Every array in `outputs` must not share memory with any other array read so far. */
  void expect_disjoint(const std::vector<const char*>& outputs) const {
    for (const char* o : outputs) {
      const Array* oa = find(o);
      if (!oa || !oa->data) continue;
      for (const auto& [n, a] : arrays_) {
        if (std::string(n) == o || !a.data || a.bytes == 0 || oa->bytes == 0) continue;
        const auto a0 = reinterpret_cast<uintptr_t>(a.data), b0 = reinterpret_cast<uintptr_t>(oa->data);
        if (a0 < b0 + static_cast<uintptr_t>(oa->bytes) && b0 < a0 + static_cast<uintptr_t>(a.bytes))
          range_error(std::string(o) + " overlaps " + n);
      }
    }
  }

  /**
   * A private copy of an Int32Array the kernel indexes memory with (see the file comment), or
   * null for an absent or empty one. Taken on the JS thread; validate the copy, not `a`. It
   * lives until the call settles (take_refs()). Cost: one copy of the array per call, made by the call's `threads`.
   */
  const int32_t* own_indices(const Array& a, int threads = 1) {
    if (!a.data || a.length == 0) return nullptr;
    // kernels read index arrays at random positions (a sampled entry, a user's row): large copies
    // go on huge pages (affinity/huge_pages.h), copied by the call's `threads`
    HugePageBuffer copy = copy_to_huge_pages(a.data, static_cast<size_t>(a.length) * sizeof(int32_t), threads);
    const int32_t* p = copy.as<int32_t>();
    copies_.push_back(std::move(copy));
    return p;
  }

  CallRefs take_refs() { return CallRefs{std::move(refs_), std::move(copies_)}; }

  /** The optional `cancel` property: an Int32Array whose element 0 the caller sets to cancel the call. */
  const int32_t* cancel_flag() {
    const Array a = typed("cancel", napi_int32_array, "an Int32Array (cancellation flag) or null", true);
    if (a.present() && a.length < 1) range_error("cancel must have at least one element");
    return static_cast<const int32_t*>(a.data);
  }
  /**
   * The optional `inline` property: true runs the kernel on the calling thread (queue_kernel), for
   * calls whose work is below what a thread hand-off costs; the caller decides by size.
   */
  bool on_calling_thread() const { return boolean("inline", false); }
  Napi::Env env() const { return env_; }

 private:
  const Array* find(const char* name) const {
    for (const auto& [n, a] : arrays_)
      if (std::string(n) == name) return &a;
    return nullptr;
  }
  Napi::Env env_;
  const char* kernel_;
  Napi::Object obj_;
  std::vector<Napi::ObjectReference> refs_;
  std::vector<HugePageBuffer> copies_;
  std::vector<std::pair<const char*, Array>> arrays_;
};

/**
 * Runs `run` on a libuv pool thread under the call's cancellation flag (affinity/cancel.h);
 * resolves with undefined, or rejects with the C++ exception's message ("<kernel>: cancelled"
 * when the flag stopped it).
 */
class KernelWorker : public Napi::AsyncWorker {
 public:
  KernelWorker(Napi::Env env, const char* name, std::function<void()> run, CallRefs refs, const int32_t* cancel)
      : Napi::AsyncWorker(env, name),
        name_(name),
        deferred_(Napi::Promise::Deferred::New(env)),
        run_(std::move(run)),
        refs_(std::move(refs)),
        cancel_(cancel) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      CancelScope scope(cancel_);
      run_();
    } catch (const Cancelled&) {
      SetError(std::string(name_) + ": cancelled");
    } catch (const std::bad_alloc&) {
      SetError(std::string(name_) + ": out of memory for the kernel's scratch buffers");
    } catch (const std::exception& e) {
      SetError(e.what());
    } catch (...) {
      SetError(std::string(name_) + ": unknown native error");
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  const char* name_;
  Napi::Promise::Deferred deferred_;
  std::function<void()> run_;
  CallRefs refs_;  // released on the JS thread with the worker (the cancel flag's array too, and the index copies)
  const int32_t* cancel_;
};

/**
 * Runs `run` on the calling (JS) thread and returns a settled promise, for calls too small to
 * repay the worker's two thread hand-offs (tens of microseconds, most of a small call's time).
 * Nothing can detach or resize the caller's arrays while it runs, and `refs` (the index copies)
 * outlive it. Errors become the same rejections as a queued call's.
 */
inline Napi::Value run_on_calling_thread(Napi::Env env, const char* name, const std::function<void()>& run, CallRefs refs,
                                         const int32_t* cancel) {
  auto deferred = Napi::Promise::Deferred::New(env);
  std::string error;
  try {
    CancelScope scope(cancel);
    run();
  } catch (const Cancelled&) {
    error = std::string(name) + ": cancelled";
  } catch (const std::bad_alloc&) {
    error = std::string(name) + ": out of memory for the kernel's scratch buffers";
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = std::string(name) + ": unknown native error";
  }
  if (error.empty()) deferred.Resolve(env.Undefined());
  else deferred.Reject(Napi::Error::New(env, error).Value());
  return deferred.Promise();
}

/**
 * Queues `run` on a libuv pool thread (KernelWorker), or with on_calling_thread (the call's
 * `inline: true`, ObjectArgs::on_calling_thread) runs it before returning.
 */
inline Napi::Value queue_kernel(Napi::Env env, const char* name, std::function<void()> run, CallRefs refs,
                                const int32_t* cancel = nullptr, bool on_calling_thread = false) {
  if (on_calling_thread) return run_on_calling_thread(env, name, run, std::move(refs), cancel);
  auto* w = new KernelWorker(env, name, std::move(run), std::move(refs), cancel);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace addon
}  // namespace affinity
