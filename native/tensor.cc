// Tensor handles, creation from/to bytes, random numbers, threads, autograd switches and memory accounting.
#include "common.h"
#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>

namespace sa {

static std::atomic<int64_t> g_live{0};
static std::atomic<int64_t> g_bytes{0};
// Bytes not yet reported to V8, reported in steps of >= 256 MiB. Tensors in tidy() scopes are freed
// deterministically within one step; reporting them in 4 (or 64) MiB steps made V8 run a major GC on
// every forward pass of the bench model (concurrent marking competing with the math for the 2 cores).
// Tensors left to the GC still add up to reports, so GC pressure follows real growth.
static int64_t g_pending = 0;
static constexpr int64_t kReportStep = int64_t{256} << 20;

static void Report(Napi::Env env, int64_t delta) {
  g_pending += delta;
  if (g_pending > kReportStep || g_pending < -kReportStep) {
    Napi::MemoryManagement::AdjustExternalMemory(env, g_pending);
    g_pending = 0;
  }
}

int64_t LiveTensors() { return g_live.load(); }
int64_t NativeBytes() { return g_bytes.load(); }

static int64_t BytesOf(const at::Tensor& t) {
  return t.defined() ? static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size()) : 0;
}

// The slot table. A deque keeps references to slots valid while new ones are added (an op may hold
// its inputs' at::Tensor& while its outputs are wrapped). Only the JS thread touches it.
struct Slot {
  at::Tensor t;
  int64_t bytes = 0;
  uint32_t gen = 0;
  uint32_t index = 0;
};
static std::deque<Slot> g_slots;
static std::vector<uint32_t> g_free;

static void* Encode(uint32_t index, uint32_t gen) {
  return reinterpret_cast<void*>((static_cast<uintptr_t>(gen) << 32) | index);
}

// The live slot a handle's value names, or nullptr if it was disposed (or is not a tensor's).
static Slot* Lookup(void* data) {
  auto v = reinterpret_cast<uintptr_t>(data);
  auto index = static_cast<uint32_t>(v & 0xffffffffu);
  auto gen = static_cast<uint32_t>(v >> 32);
  if (index >= g_slots.size()) return nullptr;
  Slot& s = g_slots[index];
  return s.gen == gen && s.t.defined() ? &s : nullptr;
}

static void Release(Napi::Env env, Slot* s) {
  s->t = at::Tensor();
  g_live--;
  g_bytes -= s->bytes;
  Report(env, -s->bytes);
  s->bytes = 0;
  s->gen++;
  g_free.push_back(s->index);
}

Napi::Value Wrap(Napi::Env env, at::Tensor t) {
  uint32_t index;
  if (g_free.empty()) {
    index = static_cast<uint32_t>(g_slots.size());
    g_slots.emplace_back().index = index;
  } else {
    index = g_free.back();
    g_free.pop_back();
  }
  Slot& s = g_slots[index];
  s.t = std::move(t);
  s.bytes = BytesOf(s.t);
  g_live++;
  g_bytes += s.bytes;
  Report(env, s.bytes);
  napi_value value;
  NAPI_THROW_IF_FAILED(env, napi_create_external(env, Encode(index, s.gen), nullptr, nullptr, &value), Napi::Value());
  return Napi::Value(env, value);
}

bool IsTensor(const Napi::Value& v) { return v.IsExternal(); }

at::Tensor& Unwrap(const Napi::Value& v, const char* what) {
  if (!v.IsExternal()) {
    throw Napi::TypeError::New(v.Env(), std::string("expected a tensor for ") + what);
  }
  Slot* s = Lookup(v.As<Napi::External<void>>().Data());
  if (s == nullptr) {
    throw Napi::Error::New(v.Env(), std::string("tensor used after dispose() (") + what + ")");
  }
  return s->t;
}

at::ScalarType DTypeFromString(const std::string& s) {
  if (s == "float32") return at::kFloat;
  if (s == "float64") return at::kDouble;
  if (s == "int32") return at::kInt;
  if (s == "int64") return at::kLong;
  if (s == "bool") return at::kBool;
  throw std::invalid_argument("unknown dtype '" + s + "' (expected float32, float64, int32, int64 or bool)");
}

bool IsDTypeName(const std::string& s) {
  return s == "float32" || s == "float64" || s == "int32" || s == "int64" || s == "bool";
}

std::string DTypeToString(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kDouble: return "float64";
    case at::kInt: return "int32";
    case at::kLong: return "int64";
    case at::kBool: return "bool";
    default: return std::string(c10::toString(t));
  }
}

std::vector<int64_t> IntList(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string("expected an array of integers for ") + what);
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) out[i] = arr.Get(i).As<Napi::Number>().Int64Value();
  return out;
}

at::Scalar ToScalar(const Napi::Value& v) {
  if (v.IsBoolean()) return at::Scalar(v.As<Napi::Boolean>().Value());
  double d = v.As<Napi::Number>().DoubleValue();
  // Like Python: an integral number is an int scalar (keeps integer tensors integer), else a float.
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) return at::Scalar(static_cast<int64_t>(d));
  return at::Scalar(d);
}

static at::TensorOptions Options(const Napi::Value& dtype, const Napi::Value& device) {
  at::TensorOptions o = at::TensorOptions().dtype(dtype.IsString() ? DTypeFromString(dtype.As<Napi::String>()) : at::kFloat);
  if (device.IsString()) o = o.device(at::Device(std::string(device.As<Napi::String>())));
  return o;
}

// fromBuffer(bytes: Uint8Array, dtype, shape, device?) -> tensor (copied)
static SA_FN(FromBuffer) {
  return Guard(info, [&] {
    auto arr = info[0].As<Napi::TypedArray>();
    auto dtype = DTypeFromString(info[1].As<Napi::String>());
    auto shape = IntList(info[2], "shape");
    auto opts = at::TensorOptions().dtype(dtype);
    at::Tensor t = at::empty(shape, opts);
    size_t need = static_cast<size_t>(t.numel()) * t.element_size();
    if (arr.ByteLength() != need) {
      throw std::invalid_argument("fromBuffer: " + std::to_string(arr.ByteLength()) + " bytes given but shape needs " + std::to_string(need));
    }
    auto* src = static_cast<uint8_t*>(arr.ArrayBuffer().Data()) + arr.ByteOffset();
    if (need) std::memcpy(t.data_ptr(), src, need);
    if (info.Length() > 3 && info[3].IsString()) t = t.to(at::Device(std::string(info[3].As<Napi::String>())));
    return Wrap(info.Env(), t);
  });
}

// toBuffer(t) -> Uint8Array of contiguous little-endian bytes (on the CPU)
static SA_FN(ToBuffer) {
  return Guard(info, [&] {
    at::Tensor t = Unwrap(info[0]).detach().to(at::kCPU).contiguous();
    size_t n = static_cast<size_t>(t.numel()) * t.element_size();
    auto buf = Napi::ArrayBuffer::New(info.Env(), n);
    if (n) std::memcpy(buf.Data(), t.data_ptr(), n);
    return Napi::Uint8Array::New(info.Env(), n, buf, 0);
  });
}

static SA_FN(Shape) {
  return Guard(info, [&] {
    auto& t = Unwrap(info[0]);
    auto out = Napi::Array::New(info.Env(), t.dim());
    for (int64_t i = 0; i < t.dim(); i++) out.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), static_cast<double>(t.size(i))));
    return out;
  });
}

static SA_FN(DType) {
  return Guard(info, [&] { return Napi::String::New(info.Env(), DTypeToString(Unwrap(info[0]).scalar_type())); });
}

static SA_FN(DeviceOf) {
  return Guard(info, [&] { return Napi::String::New(info.Env(), Unwrap(info[0]).device().str()); });
}

static SA_FN(Item) {
  return Guard(info, [&] {
    auto& t = Unwrap(info[0]);
    if (t.numel() != 1) throw std::invalid_argument("item(): tensor has " + std::to_string(t.numel()) + " elements, expected exactly 1");
    return Napi::Number::New(info.Env(), t.item<double>());
  });
}

static SA_FN(Dispose) {
  if (info[0].IsExternal()) {
    if (Slot* s = Lookup(info[0].As<Napi::External<void>>().Data())) Release(info.Env(), s);
  }
  return info.Env().Undefined();
}

static SA_FN(IsDisposed) {
  return Napi::Boolean::New(info.Env(), !info[0].IsExternal() || Lookup(info[0].As<Napi::External<void>>().Data()) == nullptr);
}

// adopt(owner: object, handle): frees the handle's tensor when `owner` is garbage-collected, unless
// it was disposed first (the finalizer checks the generation). For tensors no tidy() scope frees.
static void FinalizeSlot(napi_env env, void* data, void*) {
  if (Slot* s = Lookup(data)) Release(Napi::Env(env), s);
}

static SA_FN(Adopt) {
  return Guard(info, [&] {
    void* data = info[1].As<Napi::External<void>>().Data();
    if (Lookup(data) == nullptr) throw std::invalid_argument("adopt(): tensor already disposed");
    NAPI_THROW_IF_FAILED(info.Env(), napi_add_finalizer(info.Env(), info[0], data, FinalizeSlot, nullptr, nullptr), Napi::Value());
    return info.Env().Undefined();
  });
}

#define SA_CREATE(NAME, EXPR)                                                   \
  static SA_FN(NAME) {                                                          \
    return Guard(info, [&] {                                                    \
      auto shape = IntList(info[0], "shape");                                   \
      auto opts = Options(info[1], info[2]);                                    \
      return Wrap(info.Env(), EXPR);                                            \
    });                                                                         \
  }
SA_CREATE(Zeros, at::zeros(shape, opts))
SA_CREATE(Ones, at::ones(shape, opts))
SA_CREATE(Rand, at::rand(shape, opts))
SA_CREATE(Randn, at::randn(shape, opts))

// full(shape, value, dtype?, device?)
static SA_FN(Full) {
  return Guard(info, [&] {
    return Wrap(info.Env(), at::full(IntList(info[0], "shape"), ToScalar(info[1]), Options(info[2], info[3])));
  });
}

// arange(start, end, step, dtype?, device?)
static SA_FN(Arange) {
  return Guard(info, [&] {
    return Wrap(info.Env(), at::arange(ToScalar(info[0]), ToScalar(info[1]), ToScalar(info[2]), Options(info[3], info[4])));
  });
}

// randint(low, high, shape, device?) -> int64
static SA_FN(Randint) {
  return Guard(info, [&] {
    auto opts = Options(Napi::String::New(info.Env(), "int64"), info[3]);
    return Wrap(info.Env(), at::randint(info[0].As<Napi::Number>().Int64Value(), info[1].As<Napi::Number>().Int64Value(), IntList(info[2], "shape"), opts));
  });
}

static SA_FN(ManualSeed) {
  return Guard(info, [&] {
    at::manual_seed(static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value()));
    return info.Env().Undefined();
  });
}

static SA_FN(SetNumThreads) {
  return Guard(info, [&] {
    at::set_num_threads(info[0].As<Napi::Number>().Int32Value());
    return info.Env().Undefined();
  });
}

static SA_FN(GetNumThreads) { return Napi::Number::New(info.Env(), at::get_num_threads()); }

static SA_FN(SetGradEnabled) {
  at::GradMode::set_enabled(info[0].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

static SA_FN(IsGradEnabled) { return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled()); }

// What the linked libtorch can run on: CUDA compiled in and a driver with devices (false/0 on a CPU build).
static SA_FN(CudaAvailable) { return Napi::Boolean::New(info.Env(), torch::cuda::is_available()); }
static SA_FN(CudaDeviceCount) { return Napi::Number::New(info.Env(), static_cast<double>(torch::cuda::device_count())); }

static SA_FN(MemoryStats) {
  auto out = Napi::Object::New(info.Env());
  out.Set("liveTensors", Napi::Number::New(info.Env(), static_cast<double>(LiveTensors())));
  out.Set("nativeBytes", Napi::Number::New(info.Env(), static_cast<double>(NativeBytes())));
  return out;
}

void InitTensor(Napi::Env env, Napi::Object exports) {
  SA_EXPORT(exports, "fromBuffer", FromBuffer);
  SA_EXPORT(exports, "toBuffer", ToBuffer);
  SA_EXPORT(exports, "shape", Shape);
  SA_EXPORT(exports, "dtype", DType);
  SA_EXPORT(exports, "device", DeviceOf);
  SA_EXPORT(exports, "item", Item);
  SA_EXPORT(exports, "dispose", Dispose);
  SA_EXPORT(exports, "isDisposed", IsDisposed);
  SA_EXPORT(exports, "adopt", Adopt);
  SA_EXPORT(exports, "zeros", Zeros);
  SA_EXPORT(exports, "ones", Ones);
  SA_EXPORT(exports, "rand", Rand);
  SA_EXPORT(exports, "randn", Randn);
  SA_EXPORT(exports, "full", Full);
  SA_EXPORT(exports, "arange", Arange);
  SA_EXPORT(exports, "randint", Randint);
  SA_EXPORT(exports, "manualSeed", ManualSeed);
  SA_EXPORT(exports, "setNumThreads", SetNumThreads);
  SA_EXPORT(exports, "getNumThreads", GetNumThreads);
  SA_EXPORT(exports, "setGradEnabled", SetGradEnabled);
  SA_EXPORT(exports, "isGradEnabled", IsGradEnabled);
  SA_EXPORT(exports, "memoryStats", MemoryStats);
  SA_EXPORT(exports, "cudaAvailable", CudaAvailable);
  SA_EXPORT(exports, "cudaDeviceCount", CudaDeviceCount);
  // built against a CUDA libtorch (binding.gyp links libtorch_cuda): tells "no CUDA in this build" from "no GPU found"
  exports.Set("hasCuda", Napi::Boolean::New(env,
#ifdef SA_CUDA
                                            true
#else
                                            false
#endif
                                            ));
}

}  // namespace sa
