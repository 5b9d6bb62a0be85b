// Module entry of the libtorch N-API addon: registers every group of functions.
#include "common.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  sa::InitTensor(env, exports);
  sa::InitOps(env, exports);
  sa::InitNN(env, exports);
  sa::InitOptim(env, exports);
  return exports;
}

NODE_API_MODULE(safealign_torch, Init)
