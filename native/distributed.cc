// c10d, PyTorch's distributed core: the TCPStore rendezvous and a Gloo (CPU) or NCCL (CUDA, when built with it)
// process group (all-reduce, broadcast, all-gather, barrier) on our tensors. Collectives block the calling JS thread, like torch.distributed's.
#include "common.h"
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef SA_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef SA_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <cstdlib>
#include <chrono>

namespace sa {

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
  uint16_t port;
};

static StoreBox& UnwrapStore(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a store handle");
  return *v.As<Napi::External<StoreBox>>().Data();
}

static std::string Str(const Napi::Value& v, const char* what) {
  if (!v.IsString()) throw Napi::TypeError::New(v.Env(), std::string("expected a string for ") + what);
  return v.As<Napi::String>().Utf8Value();
}

static std::chrono::milliseconds Millis(const Napi::Value& v) {
  return std::chrono::milliseconds(v.As<Napi::Number>().Int64Value());
}

static std::vector<std::string> Keys(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(Str(arr.Get(i), "key"));
  return out;
}

// storeCreate(host, port, isServer, timeoutMs): the server (port 0 picks a free one) also serves its own
// client. It does not wait for the workers: the caller checks them in by rank, so a missing one is named.
static SA_FN(StoreCreate) {
  return Guard(info, [&] {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
    opts.isServer = info[2].As<Napi::Boolean>().Value();
    opts.waitWorkers = false;
    opts.timeout = Millis(info[3]);
    auto store = c10::make_intrusive<c10d::TCPStore>(Str(info[0], "host"), opts);
    auto* box = new StoreBox{store, store->getPort()};
    return Napi::External<StoreBox>::New(info.Env(), box, [](Napi::Env, StoreBox* b) { delete b; });
  });
}

static SA_FN(StorePort) { return Napi::Number::New(info.Env(), UnwrapStore(info[0]).port); }

static SA_FN(StoreSet) {
  return Guard(info, [&] {
    auto value = Str(info[2], "value");
    UnwrapStore(info[0]).store->set(Str(info[1], "key"), std::vector<uint8_t>(value.begin(), value.end()));
    return info.Env().Undefined();
  });
}

static SA_FN(StoreGet) {
  return Guard(info, [&] {
    auto bytes = UnwrapStore(info[0]).store->get(Str(info[1], "key"));
    return Napi::String::New(info.Env(), std::string(bytes.begin(), bytes.end()));
  });
}

static SA_FN(StoreAdd) {
  return Guard(info, [&] {
    auto v = UnwrapStore(info[0]).store->add(Str(info[1], "key"), info[2].As<Napi::Number>().Int64Value());
    return Napi::Number::New(info.Env(), static_cast<double>(v));
  });
}

static SA_FN(StoreCheck) {
  return Guard(info, [&] { return Napi::Boolean::New(info.Env(), UnwrapStore(info[0]).store->check(Keys(info[1]))); });
}

// storeWait(store, keys, timeoutMs): throws when a key is still missing after the timeout.
static SA_FN(StoreWait) {
  return Guard(info, [&] {
    UnwrapStore(info[0]).store->wait(Keys(info[1]), Millis(info[2]));
    return info.Env().Undefined();
  });
}

#ifdef SA_GLOO

// A process group: Gloo (CPU tensors) or, in a build with SA_NCCL, NCCL (CUDA tensors). The collectives below are
// templates over the concrete class, so they compile against the 1.13 API (ProcessGroup subclasses) and later ones
// (Backend subclasses) alike.
struct GroupBox {
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#ifdef SA_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
};

static GroupBox& UnwrapGroup(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected a process group handle");
  return *v.As<Napi::External<GroupBox>>().Data();
}

// Calls fn(pg) with the group's concrete process group.
template <typename F>
static void WithGroup(GroupBox& box, F fn) {
#ifdef SA_NCCL
  if (box.nccl) return fn(*box.nccl);
#endif
  fn(*box.gloo);
}

static std::shared_ptr<::gloo::transport::Device> Device(const std::string& kind, const std::string& arg) {
  if (kind == "interface") return c10d::ProcessGroupGloo::createDeviceForInterface(arg);
  if (kind == "hostname") return c10d::ProcessGroupGloo::createDeviceForHostname(arg);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// groupCreate(store, prefix, rank, size, timeoutMs, deviceKind, deviceArg, backend = 'gloo'): Gloo's full-mesh
// rendezvous through the store under `prefix`, or NCCL's (its communicators are made at the first collective);
// every collective of the group fails after timeoutMs (NCCL: with NCCL_BLOCKING_WAIT, set here unless the user did).
static SA_FN(GroupCreate) {
  return Guard(info, [&] {
    auto store = c10::make_intrusive<c10d::PrefixStore>(Str(info[1], "prefix"), UnwrapStore(info[0]).store);
    int rank = info[2].As<Napi::Number>().Int32Value();
    int size = info[3].As<Napi::Number>().Int32Value();
    std::string backend = info.Length() > 7 && info[7].IsString() ? Str(info[7], "backend") : "gloo";
    auto* box = new GroupBox{};
    if (backend == "nccl") {
#ifdef SA_NCCL
      setenv("NCCL_BLOCKING_WAIT", "1", /*overwrite=*/0);
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = Millis(info[4]);
      box->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
#else
      delete box;
      throw std::invalid_argument("this build of the engine has no NCCL (build it against a CUDA libtorch with the CUDA toolkit and NCCL headers, see README)");
#endif
    } else if (backend == "gloo") {
      auto opts = c10d::ProcessGroupGloo::Options::create(Millis(info[4]));
      opts->devices.push_back(Device(Str(info[5], "device kind"), Str(info[6], "device")));
      opts->threads = 2;
      box->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
    } else {
      delete box;
      throw std::invalid_argument("unknown process group backend '" + backend + "' (expected gloo or nccl)");
    }
    return Napi::External<GroupBox>::New(info.Env(), box, [](Napi::Env, GroupBox* b) { delete b; });
  });
}

static std::vector<at::Tensor> Dense(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    at::Tensor& t = Unwrap(arr.Get(i));
    if (!t.is_contiguous()) throw Napi::TypeError::New(v.Env(), "collectives need contiguous tensors (call .contiguous())");
    out.push_back(t);
  }
  return out;
}

static c10d::ReduceOp Op(const std::string& name) {
  if (name == "sum" || name == "avg") return c10d::ReduceOp::SUM;
  if (name == "max") return c10d::ReduceOp::MAX;
  if (name == "min") return c10d::ReduceOp::MIN;
  if (name == "product") return c10d::ReduceOp::PRODUCT;
  throw std::invalid_argument("unknown reduce op '" + name + "' (expected sum, avg, max, min or product)");
}

// Several tensors as one message: Gloo's allreduce_coalesced; other backends (NCCL has no coalesced all-reduce in
// 1.13) get them flattened into one buffer and copied back, as DDP's buckets do.
static void AllReduceMany(c10d::ProcessGroupGloo& pg, std::vector<at::Tensor>& tensors, c10d::ReduceOp op) {
  c10d::AllreduceCoalescedOptions opts;
  opts.reduceOp = op;
  pg.allreduce_coalesced(tensors, opts)->wait();
}
template <typename PG>
static void AllReduceMany(PG& pg, std::vector<at::Tensor>& tensors, c10d::ReduceOp op) {
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> flat;
  for (auto& t : tensors) flat.push_back(t.view(-1));
  std::vector<at::Tensor> buffer{at::cat(flat)};
  c10d::AllreduceOptions opts;
  opts.reduceOp = op;
  pg.allreduce(buffer, opts)->wait();
  int64_t offset = 0;
  for (auto& t : tensors) {
    t.view(-1).copy_(buffer[0].narrow(0, offset, t.numel()));
    offset += t.numel();
  }
}

// allReduce(group, tensors, op): in place; several tensors (one dtype) go as one coalesced message.
// Gloo has no AVG: it is SUM divided by the world size.
static SA_FN(AllReduce) {
  return Guard(info, [&] {
    auto& box = UnwrapGroup(info[0]);
    auto tensors = Dense(info[1]);
    auto name = Str(info[2], "op");
    if (tensors.empty()) return info.Env().Undefined();
    int size = 1;
    WithGroup(box, [&](auto& pg) {
      size = pg.getSize();
      if (tensors.size() == 1) {
        c10d::AllreduceOptions opts;
        opts.reduceOp = Op(name);
        pg.allreduce(tensors, opts)->wait();
      } else {
        AllReduceMany(pg, tensors, Op(name));
      }
    });
    if (name == "avg") {
      at::NoGradGuard no_grad;
      for (auto& t : tensors) t.div_(size);
    }
    return info.Env().Undefined();
  });
}

// broadcast(group, tensor, root): in place, from rank `root` to every rank.
static SA_FN(Broadcast) {
  return Guard(info, [&] {
    auto tensors = Dense(info[1]);
    c10d::BroadcastOptions opts;
    opts.rootRank = info[2].As<Napi::Number>().Int64Value();
    WithGroup(UnwrapGroup(info[0]), [&](auto& pg) { pg.broadcast(tensors, opts)->wait(); });
    return info.Env().Undefined();
  });
}

// allGather(group, tensor): a new tensor from every rank, in rank order.
static SA_FN(AllGather) {
  return Guard(info, [&] {
    auto input = Dense(info[1]);
    std::vector<std::vector<at::Tensor>> outputs(1);
    WithGroup(UnwrapGroup(info[0]), [&](auto& pg) {
      for (int r = 0; r < pg.getSize(); r++) outputs[0].push_back(at::empty_like(input.at(0)));
      pg.allgather(outputs, input)->wait();
    });
    auto arr = Napi::Array::New(info.Env(), outputs[0].size());
    for (uint32_t r = 0; r < outputs[0].size(); r++) arr.Set(r, Wrap(info.Env(), outputs[0][r]));
    return static_cast<Napi::Value>(arr);
  });
}

static SA_FN(Barrier) {
  return Guard(info, [&] {
    WithGroup(UnwrapGroup(info[0]), [&](auto& pg) { pg.barrier()->wait(); });
    return info.Env().Undefined();
  });
}

#endif  // SA_GLOO

void InitDistributed(Napi::Env env, Napi::Object exports) {
  SA_EXPORT(exports, "storeCreate", StoreCreate);
  SA_EXPORT(exports, "storePort", StorePort);
  SA_EXPORT(exports, "storeSet", StoreSet);
  SA_EXPORT(exports, "storeGet", StoreGet);
  SA_EXPORT(exports, "storeAdd", StoreAdd);
  SA_EXPORT(exports, "storeCheck", StoreCheck);
  SA_EXPORT(exports, "storeWait", StoreWait);
#ifdef SA_GLOO
  SA_EXPORT(exports, "groupCreate", GroupCreate);
  SA_EXPORT(exports, "allReduce", AllReduce);
  SA_EXPORT(exports, "broadcast", Broadcast);
  SA_EXPORT(exports, "allGather", AllGather);
  SA_EXPORT(exports, "barrier", Barrier);
#endif
  exports.Set("hasNccl", Napi::Boolean::New(env,
#if defined(SA_NCCL) && defined(SA_GLOO)
                                            true
#else
                                            false
#endif
                                            ));
  exports.Set("hasGloo", Napi::Boolean::New(env,
#ifdef SA_GLOO
                                            true
#else
                                            false
#endif
                                            ));
}

}  // namespace sa
