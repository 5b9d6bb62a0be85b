// Neural-network functions: linear, layer norm, embedding, dropout, cross-entropy.
#include "common.h"

namespace sa {

static bool Absent(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }
static c10::optional<at::Tensor> OptTensor(const Napi::Value& v) {
  if (Absent(v)) return c10::nullopt;
  return Unwrap(v);
}

// linear(x, weight (out, in), bias?)
static SA_FN(Linear) {
  return Guard(info, [&] { return Wrap(info.Env(), at::linear(Unwrap(info[0]), Unwrap(info[1], "weight"), OptTensor(info[2]))); });
}

// layerNorm(x, normalizedShape, weight?, bias?, eps)
static SA_FN(LayerNorm) {
  return Guard(info, [&] {
    return Wrap(info.Env(), at::layer_norm(Unwrap(info[0]), IntList(info[1], "normalizedShape"), OptTensor(info[2]), OptTensor(info[3]),
                                           info[4].As<Napi::Number>().DoubleValue()));
  });
}

// embedding(weight (V, D), indices int64)
static SA_FN(Embedding) {
  return Guard(info, [&] { return Wrap(info.Env(), at::embedding(Unwrap(info[0], "weight"), Unwrap(info[1], "indices"))); });
}

// dropout(x, p, training)
static SA_FN(Dropout) {
  return Guard(info, [&] {
    return Wrap(info.Env(), at::dropout(Unwrap(info[0]), info[1].As<Napi::Number>().DoubleValue(), info[2].As<Napi::Boolean>().Value()));
  });
}

// crossEntropy(logits (N, C), targets (N) int64, ignoreIndex, reduction 'mean'|'sum'|'none')
static SA_FN(CrossEntropy) {
  return Guard(info, [&] {
    std::string r = info[3].As<Napi::String>();
    int64_t reduction = r == "none" ? at::Reduction::None : r == "sum" ? at::Reduction::Sum : at::Reduction::Mean;
    return Wrap(info.Env(), at::cross_entropy_loss(Unwrap(info[0], "logits"), Unwrap(info[1], "targets"), c10::nullopt, reduction,
                                                   info[2].As<Napi::Number>().Int64Value(), 0.0));
  });
}

void InitNN(Napi::Env env, Napi::Object exports) {
  SA_EXPORT(exports, "linear", Linear);
  SA_EXPORT(exports, "layerNorm", LayerNorm);
  SA_EXPORT(exports, "embedding", Embedding);
  SA_EXPORT(exports, "dropout", Dropout);
  SA_EXPORT(exports, "crossEntropy", CrossEntropy);
}

}  // namespace sa
