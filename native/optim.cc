// libtorch's own optimisers (AdamW, SGD) with exportable state, and global-norm gradient clipping. AdamW's step on float32
// CPU parameters is one fused pass of our own (kernels::AdamW) over libtorch's AdamW state.
#include "common.h"
#include "kernels.h"
#include <ATen/Parallel.h>
#include <cmath>
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

static std::string Key(const at::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

// Whether every parameter with a gradient can take the fused step: contiguous float32 CPU tensors with dense contiguous
// gradients (and moments, once they exist), no AMSGrad. Otherwise libtorch's own step runs.
static bool FusedAdamW(torch::optim::Optimizer& opt) {
  for (auto& group : opt.param_groups()) {
    if (static_cast<torch::optim::AdamWOptions&>(group.options()).amsgrad()) return false;
    for (auto& p : group.params()) {
      const at::Tensor& g = p.grad();
      if (!g.defined()) continue;
      auto ok = [](const at::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.layout() == at::kStrided && t.is_contiguous(); };
      if (!ok(p) || !ok(g) || g.sizes() != p.sizes()) return false;
      auto it = opt.state().find(Key(p));
      if (it != opt.state().end()) {
        auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
        if (!ok(st.exp_avg()) || !ok(st.exp_avg_sq())) return false;
      }
    }
  }
  return true;
}

// libtorch's AdamW step (torch/csrc/api/src/optim/adamw.cpp: the same state, the same formulas, the same scalars in
// double), each parameter's update one pass of kernels::AdamW shared out over the intra-op threads instead of eight ATen
// ops. Equal to libtorch's to float32 rounding (test/torch/adamw-fused.test.ts).
static void AdamWStepFused(torch::optim::Optimizer& opt) {
  at::NoGradGuard noGrad;
  for (auto& group : opt.param_groups()) {
    auto& o = static_cast<torch::optim::AdamWOptions&>(group.options());
    const double lr = o.lr();
    const double beta1 = std::get<0>(o.betas());
    const double beta2 = std::get<1>(o.betas());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& slot = opt.state()[Key(p)];
      if (!slot) {
        auto st = std::make_unique<torch::optim::AdamWParamState>();
        st->step(0);
        st->exp_avg(at::zeros_like(p, at::MemoryFormat::Contiguous));
        st->exp_avg_sq(at::zeros_like(p, at::MemoryFormat::Contiguous));
        slot = std::move(st);
      }
      auto& st = static_cast<torch::optim::AdamWParamState&>(*slot);
      st.step(st.step() + 1);
      const double t = static_cast<double>(st.step());
      kernels::AdamWStep s{};
      s.decay = static_cast<float>(1 - lr * o.weight_decay());
      s.beta1 = static_cast<float>(beta1);
      s.beta2 = static_cast<float>(beta2);
      s.oneMinusBeta1 = static_cast<float>(1 - beta1);
      s.oneMinusBeta2 = static_cast<float>(1 - beta2);
      s.sqrtBias2 = static_cast<float>(std::sqrt(1 - std::pow(beta2, t)));
      s.eps = static_cast<float>(o.eps());
      s.stepSize = static_cast<float>(lr / (1 - std::pow(beta1, t)));
      float* pp = p.data_ptr<float>();
      const float* gg = p.grad().data_ptr<float>();
      float* mm = st.exp_avg().data_ptr<float>();
      float* vv = st.exp_avg_sq().data_ptr<float>();
      at::parallel_for(0, p.numel(), 1 << 15, [&](int64_t begin, int64_t end) {
        kernels::AdamW(pp + begin, gg + begin, mm + begin, vv + begin, end - begin, s);
      });
    }
  }
}

static SA_FN(Step) {
  return Guard(info, [&] {
    auto& box = UnwrapOpt(info[0]);
    if (box.adamw && FusedAdamW(*box.opt)) {
      AdamWStepFused(*box.opt);
    } else {
      box.opt->step();
    }
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
