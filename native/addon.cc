// Module entry of the libtorch N-API addon: registers every group of functions.
#include "common.h"
#include <malloc.h>
#include <atomic>

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // The tensor table and memory accounting are per process and unlocked: one JS thread owns them.
  static std::atomic<bool> loaded{false};
  if (loaded.exchange(true)) {
    Napi::Error err = Napi::Error::New(env, "the safealign engine is already loaded by another JS thread of this process; "
                                            "use it from one thread (child processes, not worker_threads, for parallel work)");
    err.Set("code", Napi::String::New(env, "ERR_SAFEALIGN_SECOND_THREAD"));
    throw err;
  }
  // Tensors in a tidy() scope are freed together at its end, so large buffers would otherwise be
  // mmap'ed and unmapped every step (page faults on every forward). Keep them in the heap for reuse.
  mallopt(M_MMAP_THRESHOLD, 512 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  sa::InitTensor(env, exports);
  sa::InitOps(env, exports);
  sa::InitNN(env, exports);
  sa::InitOptim(env, exports);
  return exports;
}

NODE_API_MODULE(safealign_torch, Init)
