// Neural-network functions: linear, layer norm, embedding, dropout, cross-entropy, attention.
#include "common.h"
#include <cstring>

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

// attention(q (B, H, Lq, hd), k, v (B, Hkv, Lk, hd), bias (B, 1, Lq, Lk) | null, scale) -> (B, Lq, H·hd):
// softmax(scale·q·kᵀ + bias)·v, H a multiple of Hkv (grouped-query attention repeats each KV head H/Hkv times).
// One query (cached decoding): the B·H dot products as one elementwise product and sum over hd, not B·H tiny matrix
// products (ATen's bmm runs one BLAS call per batch entry). Several: the bias is written into the scores buffer and the
// scaled product added to it inside the matrix product (baddbmm, beta 1, alpha = scale), one pass over the (B, H, Lq, Lk)
// scores instead of three (product; scale; bias). Differentiable when grad is enabled.
static at::Tensor Attend(const at::Tensor& q, at::Tensor k, at::Tensor v, const c10::optional<at::Tensor>& bias, double scale) {
  const int64_t b = q.size(0), h = q.size(1), lq = q.size(2), hd = q.size(3), hkv = k.size(1), lk = k.size(2);
  if (hkv != h) {
    k = k.unsqueeze(2).expand({b, hkv, h / hkv, lk, hd}).reshape({b, h, lk, hd});
    v = v.unsqueeze(2).expand({b, hkv, h / hkv, lk, hd}).reshape({b, h, lk, hd});
  }
  at::Tensor out;  // (B, H, Lq, hd)
  if (lq == 1) {
    at::Tensor scores = at::mul(k, q.mul(scale)).sum(-1).unsqueeze(2);  // (B, H, 1, Lk)
    if (bias) scores = scores.add(*bias);
    out = at::mul(v, at::softmax(scores, -1).transpose(2, 3)).sum(2, true);
  } else {
    at::Tensor q3 = q.reshape({b * h, lq, hd}), kt = k.reshape({b * h, lk, hd}).transpose(1, 2);
    at::Tensor scores;
    if (bias) {
      scores = at::empty({b, h, lq, lk}, q.options());
      {
        at::NoGradGuard g;  // the bias is a constant of the mask
        scores.copy_(bias->expand({b, h, lq, lk}));
      }
      scores.view({b * h, lq, lk}).baddbmm_(q3, kt, 1, scale);
    } else {
      scores = at::bmm(q3, kt).mul_(scale).view({b, h, lq, lk});
    }
    out = at::matmul(at::softmax(scores, -1), v);
  }
  return out.transpose(1, 2).reshape({b, lq, h * hd});
}

static SA_FN(Attention) {
  return Guard(info, [&] {
    return Wrap(info.Env(), Attend(Unwrap(info[0], "q"), Unwrap(info[1], "k"), Unwrap(info[2], "v"), OptTensor(info[3]),
                                   info[4].As<Napi::Number>().DoubleValue()));
  });
}

// keepRows_(t (B, H, capacity, hd), keep, length): moves row keep[j] of t to row j in place, for j < keep.length (keep
// strictly increasing), copying only the first `length` positions of dim 2: the rows of a preallocated KV cache that go on
// decoding, compacted at the front of their buffer (the caller reads its first keep.length rows), instead of copied whole
// into a new buffer (index_select copies every position of the capacity). The values are copied bit for bit and stay
// in order, so the rows that go on see the same cache as after an index_select.
static SA_FN(KeepRows_) {
  return Guard(info, [&] {
    at::Tensor& t = Unwrap(info[0]);
    std::vector<int64_t> keep = IntList(info[1], "keep");
    const int64_t length = info[2].As<Napi::Number>().Int64Value();
    TORCH_CHECK(t.dim() == 4, "keepRows_: expected a (B, H, capacity, hd) cache, got ", t.dim(), " dimensions");
    const int64_t b = t.size(0), h = t.size(1), cap = t.size(2), hd = t.size(3);
    TORCH_CHECK(length >= 0 && length <= cap, "keepRows_: length ", length, " is outside the cache's capacity ", cap);
    for (size_t j = 0; j < keep.size(); j++) {
      TORCH_CHECK(keep[j] >= 0 && keep[j] < b && (j == 0 || keep[j] > keep[j - 1]),
                  "keepRows_: the rows to keep must be increasing row indices below ", b);
    }
    at::NoGradGuard g;
    if (t.device().is_cpu() && t.is_contiguous()) {
      // keep[j] >= j: row j is written only after rows j' < j were read from it, or never read again
      auto* base = static_cast<char*>(t.data_ptr());
      const size_t block = static_cast<size_t>(length * hd) * t.element_size();
      const int64_t stride = cap * hd * static_cast<int64_t>(t.element_size());
      for (size_t j = 0; j < keep.size(); j++) {
        if (keep[j] == static_cast<int64_t>(j)) continue;
        for (int64_t head = 0; head < h; head++) {
          std::memmove(base + (static_cast<int64_t>(j) * h + head) * stride, base + (keep[j] * h + head) * stride, block);
        }
      }
    } else {
      for (size_t j = 0; j < keep.size(); j++) {
        if (keep[j] == static_cast<int64_t>(j)) continue;
        t.select(0, static_cast<int64_t>(j)).narrow(1, 0, length).copy_(t.select(0, keep[j]).narrow(1, 0, length));
      }
    }
    return info.Env().Undefined();
  });
}

void InitNN(Napi::Env env, Napi::Object exports) {
  SA_EXPORT(exports, "attention", Attention);
  SA_EXPORT(exports, "keepRows_", KeepRows_);
  SA_EXPORT(exports, "linear", Linear);
  SA_EXPORT(exports, "layerNorm", LayerNorm);
  SA_EXPORT(exports, "embedding", Embedding);
  SA_EXPORT(exports, "dropout", Dropout);
  SA_EXPORT(exports, "crossEntropy", CrossEntropy);
}

}  // namespace sa
