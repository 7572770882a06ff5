// affinity native core: memory for large arrays that kernels read or write at random positions.
// Plain C++17, no Node.
//
// With 4 KB pages a random access into an array of tens of megabytes is nearly always a TLB miss,
// and under virtualization a miss costs a two-level page walk, of which a core runs only a few at
// once: the Hogwild epochs on a 20M-entry matrix spent about a quarter of their time there. On
// Linux a buffer of at least kHugePageMin bytes is therefore an anonymous mapping, 2 MB aligned,
// advised to use transparent huge pages (MADV_HUGEPAGE: honoured where THP is `always` or
// `madvise`, a no-op elsewhere); smaller ones, and every buffer on other systems, come from new[].
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace affinity {

class HugePageBuffer {
 public:
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kHugePageMin = size_t{4} << 20;

  HugePageBuffer() = default;
  /** Uninitialized; throws std::bad_alloc. */
  explicit HugePageBuffer(size_t bytes) : bytes_(bytes) {
    if (bytes == 0) return;
#if defined(__linux__)
    if (bytes >= kHugePageMin) {
      mapped_ = bytes + kHugePage;
      void* m = mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) throw std::bad_alloc();
      base_ = m;
      const uintptr_t aligned = (reinterpret_cast<uintptr_t>(m) + kHugePage - 1) & ~(kHugePage - 1);
      data_ = reinterpret_cast<void*>(aligned);
      madvise(data_, bytes, MADV_HUGEPAGE);  // a hint: where it is refused, ordinary pages
      return;
    }
#endif
    data_ = ::operator new(bytes);
  }
  ~HugePageBuffer() { release(); }
  HugePageBuffer(const HugePageBuffer&) = delete;
  HugePageBuffer& operator=(const HugePageBuffer&) = delete;
  HugePageBuffer(HugePageBuffer&& o) noexcept { take(o); }
  HugePageBuffer& operator=(HugePageBuffer&& o) noexcept {
    if (this != &o) {
      release();
      take(o);
    }
    return *this;
  }

  void* data() const { return data_; }
  size_t size() const { return bytes_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(data_);
  }

 private:
  void release() {
#if defined(__linux__)
    if (base_) {
      munmap(base_, mapped_);
      base_ = nullptr;
      data_ = nullptr;
      return;
    }
#endif
    ::operator delete(data_);
    data_ = nullptr;
  }
  void take(HugePageBuffer& o) {
    bytes_ = o.bytes_;
    mapped_ = o.mapped_;
    data_ = o.data_;
    base_ = o.base_;
    o.data_ = nullptr;
    o.base_ = nullptr;
    o.bytes_ = o.mapped_ = 0;
  }
  size_t bytes_ = 0, mapped_ = 0;
  void* data_ = nullptr;
  void* base_ = nullptr;  // the mapping (Linux, large buffers)
};

/**
 * A copy of src[0, bytes) in a new HugePageBuffer, made by up to `threads` threads of the core's
 * pool (the caller taking part), each copying whole 2 MB pages: the copy and the first touch of
 * its fresh pages (which the kernel zeroes) are then spread over the threads instead of being
 * serial time before a parallel kernel.
 */
HugePageBuffer copy_to_huge_pages(const void* src, size_t bytes, int threads);

}  // namespace affinity
