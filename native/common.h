// Shared pieces of the libtorch binding: the boxed tensor handle, argument readers, error translation.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <string>
#include <vector>

namespace sa {

// One JS Tensor owns one TensorBox (through a Napi::External). `dispose` resets the tensor early;
// the finalizer deletes the box. Native bytes are reported to V8 so GC pressure is real.
struct TensorBox {
  at::Tensor t;
  int64_t bytes = 0;
};

Napi::Value Wrap(Napi::Env env, at::Tensor t);
at::Tensor& Unwrap(const Napi::Value& v, const char* what = "tensor");
bool IsTensor(const Napi::Value& v);
void ReleaseBox(Napi::Env env, TensorBox* box);
int64_t LiveTensors();
int64_t NativeBytes();

at::ScalarType DTypeFromString(const std::string& s);
std::string DTypeToString(at::ScalarType t);
std::vector<int64_t> IntList(const Napi::Value& v, const char* what);
at::Scalar ToScalar(const Napi::Value& v);

// Runs `body`, turning libtorch (c10::Error) and std exceptions into JS errors named TorchError.
template <typename F>
Napi::Value Guard(const Napi::CallbackInfo& info, F body) {
  Napi::Env env = info.Env();
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    Napi::Error err = Napi::Error::New(env, e.what_without_backtrace());
    err.Set("name", Napi::String::New(env, "TorchError"));
    throw err;
  } catch (const std::exception& e) {
    Napi::Error err = Napi::Error::New(env, e.what());
    err.Set("name", Napi::String::New(env, "TorchError"));
    throw err;
  }
}

#define SA_FN(name) Napi::Value name(const Napi::CallbackInfo& info)
#define SA_EXPORT(exports, name, fn) exports.Set(name, Napi::Function::New(env, fn, name))

void InitTensor(Napi::Env env, Napi::Object exports);
void InitOps(Napi::Env env, Napi::Object exports);
void InitNN(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);

}  // namespace sa
