// Tensor operations: arithmetic, comparisons, elementwise maths, reductions, shapes, indexing, sorting.
#include "common.h"
#include "kernels.h"
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/DistributionsHelper.h>
#include <limits>
#include <mutex>
#include <torch/csrc/autograd/custom_function.h>
#include <tuple>

namespace sa {

// GELU's tanh form on a contiguous float32 CPU tensor runs our vectorised kernel (kernels::GeluTanh, ~3x ATen's at 1M
// elements: ATen's evaluates tanh to 1 ulp, ours one exp); other tensors and forms go to ATen.
static bool OwnGelu(const at::Tensor& x, const std::string& approximate) {
  return approximate == "tanh" && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.is_contiguous() && x.layout() == at::kStrided;
}

// y = GELU(x) through the kernel, shared out over libtorch's intra-op threads. y may be x (in place).
static void GeluTanhInto(const at::Tensor& x, const at::Tensor& y) {
  const float* in = x.data_ptr<float>();
  float* out = y.data_ptr<float>();
  at::parallel_for(0, x.numel(), 32768, [&](int64_t begin, int64_t end) { kernels::GeluTanh(in + begin, out + begin, end - begin); });
}

// GELU(x) through the kernel into a new tensor.
static at::Tensor GeluTanh(const at::Tensor& x) {
  at::Tensor y = at::empty_like(x, at::MemoryFormat::Contiguous);
  GeluTanhInto(x, y);
  return y;
}

// Autograd for the kernel's forward: the gradient is ATen's gelu_backward (the derivative of the same function).
struct GeluTanhFunction : public torch::autograd::Function<GeluTanhFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x) {
    ctx->save_for_backward({x});
    return GeluTanh(x);
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    return {at::gelu_backward(grads[0], x, "tanh")};
  }
};

static at::Tensor GeluOp(const at::Tensor& x, const std::string& approximate) {
  if (!OwnGelu(x, approximate)) return at::gelu(x, approximate);
  if (at::GradMode::is_enabled() && x.requires_grad()) return GeluTanhFunction::apply(x);
  return GeluTanh(x);
}

// The `approximate` argument of gelu / gelu_: a string, "none" when absent.
static std::string Approximate(const Napi::Value& v) { return v.IsString() ? std::string(v.As<Napi::String>()) : std::string("none"); }

static c10::optional<at::Scalar> OptScalar(const Napi::Value& v) {
  if (v.IsUndefined() || v.IsNull()) return c10::nullopt;
  return ToScalar(v);
}

static bool Absent(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

static std::vector<int64_t> Dims(const Napi::Value& v) {
  if (v.IsNumber()) return {v.As<Napi::Number>().Int64Value()};
  return IntList(v, "dims");
}

static bool Flag(const Napi::Value& v, bool dflt) { return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : dflt; }
static int64_t Int(const Napi::Value& v) { return v.As<Napi::Number>().Int64Value(); }

// A number operand becomes a 0-dim tensor of the other operand's dtype (for ops without Scalar overloads).
static at::Tensor AsTensor(const Napi::Value& v, const at::Tensor& like) {
  if (IsTensor(v)) return Unwrap(v);
  return at::scalar_tensor(ToScalar(v), like.options().requires_grad(false));
}

#define SA_BINARY(NAME, TENSOR_EXPR, SCALAR_EXPR)                       \
  static SA_FN(NAME) {                                                  \
    return Guard(info, [&] {                                            \
      const at::Tensor& a = Unwrap(info[0]);                            \
      if (IsTensor(info[1])) {                                          \
        const at::Tensor& b = Unwrap(info[1]);                          \
        return Wrap(info.Env(), TENSOR_EXPR);                           \
      }                                                                 \
      at::Scalar s = ToScalar(info[1]);                                 \
      return Wrap(info.Env(), SCALAR_EXPR);                             \
    });                                                                 \
  }

static at::Scalar Alpha(const Napi::CallbackInfo& info) { return Absent(info[2]) ? at::Scalar(1) : ToScalar(info[2]); }
SA_BINARY(Add, at::add(a, b, Alpha(info)), at::add(a, s, Alpha(info)))
SA_BINARY(Sub, at::sub(a, b, Alpha(info)), at::sub(a, s, Alpha(info)))
SA_BINARY(Mul, at::mul(a, b), at::mul(a, s))
SA_BINARY(Div, at::div(a, b), at::div(a, s))
SA_BINARY(Pow, at::pow(a, b), at::pow(a, s))
SA_BINARY(Eq, at::eq(a, b), at::eq(a, s))
SA_BINARY(Ne, at::ne(a, b), at::ne(a, s))
SA_BINARY(Lt, at::lt(a, b), at::lt(a, s))
SA_BINARY(Le, at::le(a, b), at::le(a, s))
SA_BINARY(Gt, at::gt(a, b), at::gt(a, s))
SA_BINARY(Ge, at::ge(a, b), at::ge(a, s))
SA_BINARY(Maximum, at::maximum(a, b), at::clamp_min(a, s))
SA_BINARY(Minimum, at::minimum(a, b), at::clamp_max(a, s))
SA_BINARY(LogicalAnd, at::logical_and(a, b), at::logical_and(a, at::scalar_tensor(s, a.options())))
SA_BINARY(LogicalOr, at::logical_or(a, b), at::logical_or(a, at::scalar_tensor(s, a.options())))

static SA_FN(Matmul) { return Guard(info, [&] { return Wrap(info.Env(), at::matmul(Unwrap(info[0]), Unwrap(info[1]))); }); }
static SA_FN(Bmm) { return Guard(info, [&] { return Wrap(info.Env(), at::bmm(Unwrap(info[0]), Unwrap(info[1]))); }); }

#define SA_UNARY(NAME, EXPR)                                              \
  static SA_FN(NAME) {                                                    \
    return Guard(info, [&] {                                              \
      const at::Tensor& a = Unwrap(info[0]);                              \
      return Wrap(info.Env(), EXPR);                                      \
    });                                                                   \
  }
SA_UNARY(Neg, at::neg(a))
SA_UNARY(Exp, at::exp(a))
SA_UNARY(Log, at::log(a))
SA_UNARY(Sqrt, at::sqrt(a))
SA_UNARY(Rsqrt, at::rsqrt(a))
SA_UNARY(Abs, at::abs(a))
SA_UNARY(Sign, at::sign(a))
SA_UNARY(Sin, at::sin(a))
SA_UNARY(Cos, at::cos(a))
SA_UNARY(Tanh, at::tanh(a))
SA_UNARY(Sigmoid, at::sigmoid(a))
SA_UNARY(Relu, at::relu(a))
SA_UNARY(Silu, at::silu(a))
SA_UNARY(Logsigmoid, at::log_sigmoid(a))
SA_UNARY(LogicalNot, at::logical_not(a))
SA_UNARY(Contiguous, a.contiguous())
SA_UNARY(Clone, a.clone())
SA_UNARY(Detach, a.detach())
SA_UNARY(Any, a.any())
SA_UNARY(All, a.all())
SA_UNARY(Norm, at::norm(a))
SA_UNARY(Gelu, GeluOp(a, Approximate(info[1])))
SA_UNARY(Softmax, at::softmax(a, Int(info[1])))
SA_UNARY(LogSoftmax, at::log_softmax(a, Int(info[1])))
SA_UNARY(Clamp, at::clamp(a, OptScalar(info[1]), OptScalar(info[2])))
SA_UNARY(Cumsum, at::cumsum(a, Int(info[1])))
SA_UNARY(Triu, at::triu(a, Absent(info[1]) ? 0 : Int(info[1])))
SA_UNARY(Tril, at::tril(a, Absent(info[1]) ? 0 : Int(info[1])))
SA_UNARY(Multinomial, at::multinomial(a, Int(info[1]), Flag(info[2], false)))

// The draws of CPUGeneratorImpl::random64 (two 32-bit outputs of its engine, the first the high half) from a copy of its
// engine, for at::exponential_distribution.
struct Engine {
  at::mt19937 mt;
  uint64_t random64() {
    const uint32_t hi = mt();
    const uint32_t lo = mt();
    return (static_cast<uint64_t>(hi) << 32) | lo;
  }
  uint32_t random() { return mt(); }  // CPUGeneratorImpl::random (the distribution's float branch; not taken for double)
};

template <typename T>
static void DrawRows(const at::Tensor& probs, const std::vector<int64_t>& rows, int64_t batch, int64_t* out) {
  const int64_t n = probs.size(0), v = probs.size(1);
  const T* p = probs.data_ptr<T>();
  for (int64_t k = 0; k < n; k++) {
    bool positive = false;
    for (int64_t j = 0; j < v; j++) {
      const T x = p[k * v + j];
      TORCH_CHECK(x < std::numeric_limits<T>::infinity() && x >= 0, "multinomialRows: probability tensor contains either `inf`, `nan` or element < 0 (row ", k, ")");
      positive = positive || x > 0;
    }
    TORCH_CHECK(positive, "multinomialRows: invalid multinomial distribution (sum of probabilities <= 0) in row ", k);
  }
  auto* gen = at::get_generator_or_default<at::CPUGeneratorImpl>(c10::nullopt, at::detail::getDefaultCPUGenerator());
  std::lock_guard<std::mutex> lock(gen->mutex_);
  // the generator's Mersenne twister, drawn from inline (its header's code) and put back after the last draw
  Engine engine{gen->engine()};
  at::exponential_distribution<double> exponential(1.0);
  int64_t k = 0;
  for (int64_t i = 0; i < batch; i++) {
    if (k == n || rows[k] != i) {
      for (int64_t j = 0; j < 2 * v; j++) engine.mt();  // a row not drawn: its numbers are consumed
      continue;
    }
    const T* row = p + k * v;
    int64_t best = 0;
    T top = 0;
    for (int64_t j = 0; j < v; j++) {
      const T r = row[j] / static_cast<T>(exponential(&engine));
      // libtorch's argmax: NaN above everything, the first of equal values
      if (j == 0 || (std::isnan(r) ? !std::isnan(top) : r > top)) {
        best = j;
        top = r;
      }
    }
    out[k++] = best;
  }
  gen->set_engine(engine.mt);
}

// Whether DrawRows reproduces this libtorch's multinomial(1) on the CPU: the same tokens and the same generator state after
// a (3, 500) matrix of each dtype. Checked once, the default generator put back as it was; another libtorch (its
// exponential_ drawn otherwise, e.g. through MKL) makes multinomialRows call multinomial itself.
static bool SameDrawsAsLibtorch() {
  static const bool same = [] {
    auto* gen = at::get_generator_or_default<at::CPUGeneratorImpl>(c10::nullopt, at::detail::getDefaultCPUGenerator());
    at::mt19937 saved;
    {
      std::lock_guard<std::mutex> lock(gen->mutex_);
      saved = gen->engine();
    }
    auto state = [&] {
      std::lock_guard<std::mutex> lock(gen->mutex_);
      const auto d = gen->engine().data();
      gen->set_engine(saved);
      return std::make_tuple(d.left_, d.next_, d.state_);
    };
    bool ok = true;
    for (auto dtype : {at::kFloat, at::kDouble}) {
      at::Tensor probs = at::softmax(at::sin(at::arange(1500, at::TensorOptions().dtype(dtype))).mul(3).view({3, 500}), 1);
      at::Tensor want = at::multinomial(probs, 1);
      const auto wantState = state();
      at::Tensor got = at::empty({3, 1}, probs.options().dtype(at::kLong));
      if (dtype == at::kFloat) DrawRows<float>(probs, {0, 1, 2}, 3, got.data_ptr<int64_t>());
      else DrawRows<double>(probs, {0, 1, 2}, 3, got.data_ptr<int64_t>());
      ok = ok && at::equal(want, got) && state() == wantState;
    }
    return ok;
  }();
  return same;
}

// multinomialRows(probs (n, V), rows, batch) -> (n, 1) int64: row k's token is the one multinomial(1) draws for row rows[k]
// of a (batch, V) matrix holding probs[k] there (rows increasing, below batch), and the default generator advances as that
// call advances it — whatever the matrix's other rows hold. libtorch draws one sample as the exponential race
// argmax_j p_j / q_j, q ~ Exp(1) drawn for every element in row-major order (ATen's multinomial fast path; its
// exponential_ on the CPU); the rows not listed consume their numbers without the logarithm, the division or the argmax
// (generation: the rows that have stopped, whose draws were thrown away). The same header functions make q from the
// generator's engine, the division is IEEE's and the argmax keeps libtorch's ties (lowest index) and NaN (largest), so each
// token is bit for bit multinomial's (checked once against this libtorch's multinomial, SameDrawsAsLibtorch). On another
// device, dtype or layout, or a libtorch that draws otherwise: multinomial itself on a (batch, V) matrix (uniform rows
// where none is listed).
static SA_FN(MultinomialRows) {
  return Guard(info, [&] {
    const at::Tensor& probs = Unwrap(info[0], "probs");
    std::vector<int64_t> rows = IntList(info[1], "rows");
    const int64_t batch = info[2].As<Napi::Number>().Int64Value();
    TORCH_CHECK(probs.dim() == 2, "multinomialRows: expected (n, V) probabilities, got ", probs.dim(), " dimensions");
    const int64_t n = probs.size(0);
    TORCH_CHECK(static_cast<int64_t>(rows.size()) == n, "multinomialRows: ", rows.size(), " rows listed for ", n, " rows of probabilities");
    for (size_t k = 0; k < rows.size(); k++) {
      TORCH_CHECK(rows[k] >= 0 && rows[k] < batch && (k == 0 || rows[k] > rows[k - 1]), "multinomialRows: rows must be increasing row indices below ", batch);
    }
    const bool own = probs.device().is_cpu() && probs.is_contiguous() && (probs.scalar_type() == at::kFloat || probs.scalar_type() == at::kDouble) &&
                     SameDrawsAsLibtorch();
    if (!own) {
      at::Tensor index = at::tensor(rows, probs.options().dtype(at::kLong));
      at::Tensor full = at::ones({batch, probs.size(1)}, probs.options()).index_copy_(0, index, probs);
      return Wrap(info.Env(), at::multinomial(full, 1).index_select(0, index));
    }
    at::Tensor out = at::empty({n, 1}, probs.options().dtype(at::kLong));
    if (probs.scalar_type() == at::kFloat) DrawRows<float>(probs, rows, batch, out.data_ptr<int64_t>());
    else DrawRows<double>(probs, rows, batch, out.data_ptr<int64_t>());
    return Wrap(info.Env(), out);
  });
}

// multinomialRowsDrawsOwn() -> whether multinomialRows draws the CPU rows itself (SameDrawsAsLibtorch) or calls multinomial.
static SA_FN(MultinomialRowsDrawsOwn) {
  return Guard(info, [&] { return Napi::Boolean::New(info.Env(), SameDrawsAsLibtorch()); });
}

// Shapes and views
SA_UNARY(Reshape, a.reshape(IntList(info[1], "shape")))
SA_UNARY(View, a.view(IntList(info[1], "shape")))
SA_UNARY(Permute, a.permute(IntList(info[1], "dims")))
SA_UNARY(Transpose, a.transpose(Int(info[1]), Int(info[2])))
SA_UNARY(Unsqueeze, a.unsqueeze(Int(info[1])))
SA_UNARY(Squeeze, Absent(info[1]) ? a.squeeze() : a.squeeze(Int(info[1])))
SA_UNARY(Expand, a.expand(IntList(info[1], "shape")))
SA_UNARY(Flatten, a.flatten(Absent(info[1]) ? 0 : Int(info[1]), Absent(info[2]) ? -1 : Int(info[2])))
SA_UNARY(Repeat, a.repeat(IntList(info[1], "repeats")))
SA_UNARY(Narrow, a.narrow(Int(info[1]), Int(info[2]), Int(info[3])))
SA_UNARY(Select, a.select(Int(info[1]), Int(info[2])))
SA_UNARY(Slice, a.slice(Int(info[1]), Absent(info[2]) ? 0 : Int(info[2]),
                        Absent(info[3]) ? std::numeric_limits<int64_t>::max() : Int(info[3]), Absent(info[4]) ? 1 : Int(info[4])))
SA_UNARY(IndexSelect, a.index_select(Int(info[1]), Unwrap(info[2], "index")))
SA_UNARY(Gather, a.gather(Int(info[1]), Unwrap(info[2], "index")))
SA_UNARY(Scatter, IsTensor(info[3]) ? a.scatter(Int(info[1]), Unwrap(info[2], "index"), Unwrap(info[3], "src"))
                                    : a.scatter(Int(info[1]), Unwrap(info[2], "index"), ToScalar(info[3])))
SA_UNARY(MaskedFill, IsTensor(info[2]) ? a.masked_fill(Unwrap(info[1], "mask"), Unwrap(info[2], "value"))
                                       : a.masked_fill(Unwrap(info[1], "mask"), ToScalar(info[2])))

// Reductions: dims absent = over everything.
SA_UNARY(Sum, Absent(info[1]) ? a.sum() : a.sum(Dims(info[1]), Flag(info[2], false)))
SA_UNARY(Mean, Absent(info[1]) ? a.mean() : a.mean(Dims(info[1]), Flag(info[2], false)))
SA_UNARY(Max, Absent(info[1]) ? a.max() : at::amax(a, Dims(info[1]), Flag(info[2], false)))
SA_UNARY(Min, Absent(info[1]) ? a.min() : at::amin(a, Dims(info[1]), Flag(info[2], false)))
SA_UNARY(Argmax, Absent(info[1]) ? a.argmax() : a.argmax(Int(info[1]), Flag(info[2], false)))
SA_UNARY(Argmin, Absent(info[1]) ? a.argmin() : a.argmin(Int(info[1]), Flag(info[2], false)))
SA_UNARY(Logsumexp, at::logsumexp(a, Dims(info[1]), Flag(info[2], false)))
SA_UNARY(Std, Absent(info[1]) ? a.std(Flag(info[2], true)) : a.std(at::OptionalIntArrayRef(Dims(info[1])), Flag(info[2], true), Flag(info[3], false)))
SA_UNARY(Var, Absent(info[1]) ? a.var(Flag(info[2], true)) : a.var(at::OptionalIntArrayRef(Dims(info[1])), Flag(info[2], true), Flag(info[3], false)))

static SA_FN(To) {
  return Guard(info, [&] {
    const at::Tensor& a = Unwrap(info[0]);
    std::string target = info[1].As<Napi::String>();
    if (IsDTypeName(target)) return Wrap(info.Env(), a.to(DTypeFromString(target)));
    return Wrap(info.Env(), a.to(at::Device(target)));  // cpu, cuda[:k], meta; anything else: libtorch's error
  });
}

static SA_FN(Where) {
  return Guard(info, [&] {
    const at::Tensor& cond = Unwrap(info[0], "condition");
    const at::Tensor* like = IsTensor(info[1]) ? &Unwrap(info[1]) : IsTensor(info[2]) ? &Unwrap(info[2]) : nullptr;
    if (!like) throw std::invalid_argument("where(): at least one of the two values must be a tensor");
    return Wrap(info.Env(), at::where(cond, AsTensor(info[1], *like), AsTensor(info[2], *like)));
  });
}

static std::vector<at::Tensor> TensorList(const Napi::Value& v) {
  auto arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(Unwrap(arr.Get(i), "list element"));
  return out;
}

static SA_FN(Cat) { return Guard(info, [&] { return Wrap(info.Env(), at::cat(TensorList(info[0]), Int(info[1]))); }); }
static SA_FN(Stack) { return Guard(info, [&] { return Wrap(info.Env(), at::stack(TensorList(info[0]), Int(info[1]))); }); }

static Napi::Value Pair(Napi::Env env, std::tuple<at::Tensor, at::Tensor> p) {
  auto out = Napi::Array::New(env, 2);
  out.Set(0u, Wrap(env, std::get<0>(p)));
  out.Set(1u, Wrap(env, std::get<1>(p)));
  return out;
}

static SA_FN(Topk) {
  return Guard(info, [&] { return Pair(info.Env(), at::topk(Unwrap(info[0]), Int(info[1]), Int(info[2]), Flag(info[3], true), true)); });
}

static SA_FN(Sort) {
  return Guard(info, [&] { return Pair(info.Env(), at::sort(Unwrap(info[0]), Int(info[1]), Flag(info[2], false))); });
}

// In-place updates are not recorded by autograd (they serve optimisers, loading and averaging).
static SA_FN(Copy_) {
  return Guard(info, [&] {
    at::NoGradGuard g;
    Unwrap(info[0]).copy_(Unwrap(info[1], "source"));
    return info.Env().Undefined();
  });
}
// gelu_(x, approximate): GELU in place, for inference (no autograd graph to keep the input for): the same kernel as gelu
// (GeluOp), without a new output buffer.
static SA_FN(Gelu_) {
  return Guard(info, [&] {
    at::Tensor& t = Unwrap(info[0]);
    TORCH_CHECK(!(at::GradMode::is_enabled() && t.requires_grad()), "gelu_: the tensor requires grad and grad mode is on; use gelu (autograd needs its input)");
    const std::string approximate = Approximate(info[1]);
    if (OwnGelu(t, approximate)) {
      at::NoGradGuard g;
      GeluTanhInto(t, t);
    } else {
      at::gelu_(t, approximate);
    }
    return info.Env().Undefined();
  });
}
static SA_FN(Zero_) {
  return Guard(info, [&] {
    at::NoGradGuard g;
    Unwrap(info[0]).zero_();
    return info.Env().Undefined();
  });
}
static SA_FN(Fill_) {
  return Guard(info, [&] {
    at::NoGradGuard g;
    Unwrap(info[0]).fill_(ToScalar(info[1]));
    return info.Env().Undefined();
  });
}

// Autograd
static SA_FN(RequiresGrad_) {
  return Guard(info, [&] {
    Unwrap(info[0]).requires_grad_(Flag(info[1], true));
    return info.Env().Undefined();
  });
}
static SA_FN(RequiresGrad) { return Guard(info, [&] { return Napi::Boolean::New(info.Env(), Unwrap(info[0]).requires_grad()); }); }
static SA_FN(Backward) {
  return Guard(info, [&] {
    const at::Tensor& t = Unwrap(info[0]);
    if (IsTensor(info[1])) t.backward(Unwrap(info[1], "gradient"));
    else t.backward();
    return info.Env().Undefined();
  });
}
static SA_FN(Grad) {
  return Guard(info, [&]() -> Napi::Value {
    const at::Tensor& g = Unwrap(info[0]).grad();
    if (!g.defined()) return info.Env().Null();
    return Wrap(info.Env(), g);
  });
}
static SA_FN(ZeroGradOf) {
  return Guard(info, [&] {
    at::Tensor& t = Unwrap(info[0]);
    if (t.grad().defined()) t.mutable_grad() = at::Tensor();
    return info.Env().Undefined();
  });
}

void InitOps(Napi::Env env, Napi::Object exports) {
  SA_EXPORT(exports, "add", Add);
  SA_EXPORT(exports, "sub", Sub);
  SA_EXPORT(exports, "mul", Mul);
  SA_EXPORT(exports, "div", Div);
  SA_EXPORT(exports, "pow", Pow);
  SA_EXPORT(exports, "eq", Eq);
  SA_EXPORT(exports, "ne", Ne);
  SA_EXPORT(exports, "lt", Lt);
  SA_EXPORT(exports, "le", Le);
  SA_EXPORT(exports, "gt", Gt);
  SA_EXPORT(exports, "ge", Ge);
  SA_EXPORT(exports, "maximum", Maximum);
  SA_EXPORT(exports, "minimum", Minimum);
  SA_EXPORT(exports, "logicalAnd", LogicalAnd);
  SA_EXPORT(exports, "logicalOr", LogicalOr);
  SA_EXPORT(exports, "matmul", Matmul);
  SA_EXPORT(exports, "bmm", Bmm);
  SA_EXPORT(exports, "neg", Neg);
  SA_EXPORT(exports, "exp", Exp);
  SA_EXPORT(exports, "log", Log);
  SA_EXPORT(exports, "sqrt", Sqrt);
  SA_EXPORT(exports, "rsqrt", Rsqrt);
  SA_EXPORT(exports, "abs", Abs);
  SA_EXPORT(exports, "sign", Sign);
  SA_EXPORT(exports, "sin", Sin);
  SA_EXPORT(exports, "cos", Cos);
  SA_EXPORT(exports, "tanh", Tanh);
  SA_EXPORT(exports, "sigmoid", Sigmoid);
  SA_EXPORT(exports, "relu", Relu);
  SA_EXPORT(exports, "silu", Silu);
  SA_EXPORT(exports, "logsigmoid", Logsigmoid);
  SA_EXPORT(exports, "logicalNot", LogicalNot);
  SA_EXPORT(exports, "contiguous", Contiguous);
  SA_EXPORT(exports, "clone", Clone);
  SA_EXPORT(exports, "detach", Detach);
  SA_EXPORT(exports, "any", Any);
  SA_EXPORT(exports, "all", All);
  SA_EXPORT(exports, "norm", Norm);
  SA_EXPORT(exports, "gelu", Gelu);
  SA_EXPORT(exports, "softmax", Softmax);
  SA_EXPORT(exports, "logSoftmax", LogSoftmax);
  SA_EXPORT(exports, "clamp", Clamp);
  SA_EXPORT(exports, "cumsum", Cumsum);
  SA_EXPORT(exports, "triu", Triu);
  SA_EXPORT(exports, "tril", Tril);
  SA_EXPORT(exports, "multinomial", Multinomial);
  SA_EXPORT(exports, "multinomialRows", MultinomialRows);
  SA_EXPORT(exports, "multinomialRowsDrawsOwn", MultinomialRowsDrawsOwn);
  SA_EXPORT(exports, "reshape", Reshape);
  SA_EXPORT(exports, "view", View);
  SA_EXPORT(exports, "permute", Permute);
  SA_EXPORT(exports, "transpose", Transpose);
  SA_EXPORT(exports, "unsqueeze", Unsqueeze);
  SA_EXPORT(exports, "squeeze", Squeeze);
  SA_EXPORT(exports, "expand", Expand);
  SA_EXPORT(exports, "flatten", Flatten);
  SA_EXPORT(exports, "repeat", Repeat);
  SA_EXPORT(exports, "narrow", Narrow);
  SA_EXPORT(exports, "select", Select);
  SA_EXPORT(exports, "slice", Slice);
  SA_EXPORT(exports, "indexSelect", IndexSelect);
  SA_EXPORT(exports, "gather", Gather);
  SA_EXPORT(exports, "scatter", Scatter);
  SA_EXPORT(exports, "maskedFill", MaskedFill);
  SA_EXPORT(exports, "sum", Sum);
  SA_EXPORT(exports, "mean", Mean);
  SA_EXPORT(exports, "max", Max);
  SA_EXPORT(exports, "min", Min);
  SA_EXPORT(exports, "argmax", Argmax);
  SA_EXPORT(exports, "argmin", Argmin);
  SA_EXPORT(exports, "logsumexp", Logsumexp);
  SA_EXPORT(exports, "std", Std);
  SA_EXPORT(exports, "var", Var);
  SA_EXPORT(exports, "to", To);
  SA_EXPORT(exports, "where", Where);
  SA_EXPORT(exports, "cat", Cat);
  SA_EXPORT(exports, "stack", Stack);
  SA_EXPORT(exports, "topk", Topk);
  SA_EXPORT(exports, "sort", Sort);
  SA_EXPORT(exports, "copy_", Copy_);
  SA_EXPORT(exports, "zero_", Zero_);
  SA_EXPORT(exports, "gelu_", Gelu_);
  SA_EXPORT(exports, "fill_", Fill_);
  SA_EXPORT(exports, "requiresGrad_", RequiresGrad_);
  SA_EXPORT(exports, "requiresGrad", RequiresGrad);
  SA_EXPORT(exports, "backward", Backward);
  SA_EXPORT(exports, "grad", Grad);
  SA_EXPORT(exports, "zeroGradOf", ZeroGradOf);
}

}  // namespace sa
