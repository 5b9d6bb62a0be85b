// Shared pieces of the libtorch binding: the boxed tensor handle, argument readers, error translation.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <string>
#include <vector>

namespace sa {

// Tensors live in a native slot table; a JS handle is a N-API external whose value encodes the slot
// and its generation (no pointer, no finalizer: creating one costs a small V8 object). `dispose`
// frees the slot and bumps its generation, so a stale handle is an error, never a dangling pointer.
// Handles that escape every tidy() scope get a finalizer through `adopt` (see src/torch/scope.ts).
Napi::Value Wrap(Napi::Env env, at::Tensor t);
at::Tensor& Unwrap(const Napi::Value& v, const char* what = "tensor");
bool IsTensor(const Napi::Value& v);
int64_t LiveTensors();
int64_t NativeBytes();

at::ScalarType DTypeFromString(const std::string& s);
bool IsDTypeName(const std::string& s);
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
void InitDistributed(Napi::Env env, Napi::Object exports);

}  // namespace sa
