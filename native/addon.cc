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
  // Tensors in a tidy() scope are freed together at its end, so buffers would otherwise be mmap'ed
  // and unmapped every step (page faults on every forward): keep those below 32 MiB in the heap for
  // reuse and never trim it below 1 GiB. Larger ones (embeddings, LM-head logits, their gradients and
  // Adam moments) are mmap'ed, as glibc's own dynamic threshold (at most 32 MiB) does for PyTorch: a
  // heap holding them fragmented until the peak RSS of a 124M PPO step was 4 GB above PyTorch's.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  sa::InitTensor(env, exports);
  sa::InitOps(env, exports);
  sa::InitNN(env, exports);
  sa::InitOptim(env, exports);
  sa::InitDistributed(env, exports);
  return exports;
}

NODE_API_MODULE(safealign_torch, Init)
