// libtorch's own optimisers (AdamW, SGD) with exportable state, and global-norm gradient clipping.
#include "common.h"
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/nn/utils/clip_grad.h>

namespace sa {

struct OptimBox {
  std::unique_ptr<torch::optim::Optimizer> opt;
  std::vector<at::Tensor> params;
  bool adamw;
};

static std::vector<at::Tensor> Params(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(Unwrap(arr.Get(i), "parameter"));
  return out;
}

static OptimBox& UnwrapOpt(const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(v.Env(), "expected an optimiser handle");
  return *v.As<Napi::External<OptimBox>>().Data();
}

static double Num(const Napi::Value& v) { return v.As<Napi::Number>().DoubleValue(); }

// adamw(params, lr, beta1, beta2, eps, weightDecay)
static SA_FN(NewAdamW) {
  return Guard(info, [&] {
    auto params = Params(info[0]);
    auto o = torch::optim::AdamWOptions(Num(info[1])).betas(std::make_tuple(Num(info[2]), Num(info[3]))).eps(Num(info[4])).weight_decay(Num(info[5]));
    auto* box = new OptimBox{std::make_unique<torch::optim::AdamW>(params, o), params, true};
    return Napi::External<OptimBox>::New(info.Env(), box, [](Napi::Env, OptimBox* b) { delete b; });
  });
}

// sgd(params, lr, momentum, weightDecay)
static SA_FN(NewSGD) {
  return Guard(info, [&] {
    auto params = Params(info[0]);
    auto o = torch::optim::SGDOptions(Num(info[1])).momentum(Num(info[2])).weight_decay(Num(info[3]));
    auto* box = new OptimBox{std::make_unique<torch::optim::SGD>(params, o), params, false};
    return Napi::External<OptimBox>::New(info.Env(), box, [](Napi::Env, OptimBox* b) { delete b; });
  });
}

static SA_FN(Step) {
  return Guard(info, [&] {
    UnwrapOpt(info[0]).opt->step();
    return info.Env().Undefined();
  });
}

static SA_FN(ZeroGrad) {
  return Guard(info, [&] {
    UnwrapOpt(info[0]).opt->zero_grad();
    return info.Env().Undefined();
  });
}

static SA_FN(SetLr) {
  return Guard(info, [&] {
    for (auto& g : UnwrapOpt(info[0]).opt->param_groups()) g.options().set_lr(Num(info[1]));
    return info.Env().Undefined();
  });
}

static SA_FN(GetLr) {
  return Guard(info, [&] { return Napi::Number::New(info.Env(), UnwrapOpt(info[0]).opt->param_groups()[0].options().get_lr()); });
}

static std::string Key(const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

// state(opt) -> per parameter: null (no state yet) or { step, expAvg, expAvgSq } (AdamW) / { momentumBuffer } (SGD)
static SA_FN(GetState) {
  return Guard(info, [&] {
    auto& b = UnwrapOpt(info[0]);
    Napi::Env env = info.Env();
    auto& state = b.opt->state();
    auto out = Napi::Array::New(env, b.params.size());
    for (size_t i = 0; i < b.params.size(); i++) {
      auto it = state.find(Key(b.params[i]));
      if (it == state.end()) {
        out.Set(static_cast<uint32_t>(i), env.Null());
        continue;
      }
      auto obj = Napi::Object::New(env);
      if (b.adamw) {
        auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
        obj.Set("step", Napi::Number::New(env, static_cast<double>(s.step())));
        obj.Set("expAvg", Wrap(env, s.exp_avg().clone()));
        obj.Set("expAvgSq", Wrap(env, s.exp_avg_sq().clone()));
      } else {
        auto& s = static_cast<torch::optim::SGDParamState&>(*it->second);
        if (s.momentum_buffer().defined()) obj.Set("momentumBuffer", Wrap(env, s.momentum_buffer().clone()));
      }
      out.Set(static_cast<uint32_t>(i), obj);
    }
    return out;
  });
}

// A copy of a saved state tensor on its parameter's device (a checkpoint written on one device resumes on another).
static at::Tensor OnDeviceOf(const at::Tensor& t, const at::Tensor& param) {
  return t.to(param.device(), t.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
}

// setState(opt, states) -- the inverse of state()
static SA_FN(SetState) {
  return Guard(info, [&] {
    auto& b = UnwrapOpt(info[0]);
    auto arr = info[1].As<Napi::Array>();
    if (arr.Length() != b.params.size()) {
      throw std::invalid_argument("optimiser state has " + std::to_string(arr.Length()) + " entries but the optimiser has " + std::to_string(b.params.size()) + " parameters");
    }
    auto& state = b.opt->state();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value v = arr.Get(i);
      const std::string key = Key(b.params[i]);
      if (v.IsNull() || v.IsUndefined()) {
        state.erase(key);
        continue;
      }
      auto obj = v.As<Napi::Object>();
      if (b.adamw) {
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(obj.Get("step").As<Napi::Number>().Int64Value());
        s->exp_avg(OnDeviceOf(Unwrap(obj.Get("expAvg"), "expAvg"), b.params[i]));
        s->exp_avg_sq(OnDeviceOf(Unwrap(obj.Get("expAvgSq"), "expAvgSq"), b.params[i]));
        state[key] = std::move(s);
      } else {
        auto s = std::make_unique<torch::optim::SGDParamState>();
        if (obj.Has("momentumBuffer")) s->momentum_buffer(OnDeviceOf(Unwrap(obj.Get("momentumBuffer"), "momentumBuffer"), b.params[i]));
        state[key] = std::move(s);
      }
    }
    return info.Env().Undefined();
  });
}

// clipGradNorm(params, maxNorm) -> total norm before clipping
static SA_FN(ClipGradNorm) {
  return Guard(info, [&] {
    auto params = Params(info[0]);
    return Napi::Number::New(info.Env(), torch::nn::utils::clip_grad_norm_(params, Num(info[1]), 2.0));
  });
}

void InitOptim(Napi::Env env, Napi::Object exports) {
  SA_EXPORT(exports, "adamw", NewAdamW);
  SA_EXPORT(exports, "sgd", NewSGD);
  SA_EXPORT(exports, "optimStep", Step);
  SA_EXPORT(exports, "optimZeroGrad", ZeroGrad);
  SA_EXPORT(exports, "optimSetLr", SetLr);
  SA_EXPORT(exports, "optimGetLr", GetLr);
  SA_EXPORT(exports, "optimState", GetState);
  SA_EXPORT(exports, "optimSetState", SetState);
  SA_EXPORT(exports, "clipGradNorm", ClipGradNorm);
}

}  // namespace sa
