#include "probes/cpu/onednn_gemm.hpp"

#include <omp.h>

#include <fmt/format.h>

#include "kernels/cpu/isa.hpp"
#include "values/error.hpp"

#ifdef ROOFAUDIT_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

namespace roofaudit {

#ifdef ROOFAUDIT_HAVE_DNNL

namespace {

void ok(dnnl_status_t status, const char* what) {
  if (status != dnnl_success) throw Error(fmt::format("oneDNN: {} failed (status {})", what, int(status)));
}

// ROOFAUDIT_MAX_ISA's class as oneDNN's ISA cap, set once before the first primitive.
void cap_isa_once() {
  static const bool done = [] {
    const std::string cap = kernels::isa_cap();
    dnnl_cpu_isa_t isa = dnnl_cpu_isa_all;
#if !defined(__x86_64__)
    // oneDNN's ISA cap names x86 levels only: on AArch64 it runs what it finds, and the
    // record names the implementation it chose.
    (void)cap;
#else
    if (cap == "generic") isa = dnnl_cpu_isa_sse41;  // oneDNN's lowest level
    else if (cap == "avx2") isa = dnnl_cpu_isa_avx2;
    else if (cap == "avx-vnni") isa = dnnl_cpu_isa_avx2_vnni;
    else if (cap == "avx512") isa = dnnl_cpu_isa_avx512_core;
    else if (cap == "avx512-vnni") isa = dnnl_cpu_isa_avx512_core_vnni;
    else if (cap == "avx512-bf16") isa = dnnl_cpu_isa_avx512_core_bf16;
#endif
    if (isa != dnnl_cpu_isa_all) ok(dnnl_set_max_cpu_isa(isa), "capping the ISA");
    return true;
  }();
  (void)done;
}

}  // namespace

struct OnednnMatmul::State {
  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  dnnl_primitive_desc_t pd = nullptr;
  dnnl_primitive_t prim = nullptr;
  dnnl_memory_t mem[3] = {nullptr, nullptr, nullptr};
  std::string impl;
  ~State() {
    for (auto m : mem)
      if (m) dnnl_memory_destroy(m);
    if (prim) dnnl_primitive_destroy(prim);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (stream) dnnl_stream_destroy(stream);
    if (engine) dnnl_engine_destroy(engine);
  }
};

std::string onednn_missing_reason() { return ""; }

OnednnMatmul::OnednnMatmul(bool bf16, int n, void* a, void* b, void* c) : s_(std::make_unique<State>()) {
  cap_isa_once();
  ok(dnnl_engine_create(&s_->engine, dnnl_cpu, 0), "creating the CPU engine");
  ok(dnnl_stream_create(&s_->stream, s_->engine, dnnl_stream_default_flags), "creating a stream");
  const dnnl_dims_t dims = {n, n};
  dnnl_memory_desc_t md[3];
  const dnnl_data_type_t types[3] = {bf16 ? dnnl_bf16 : dnnl_u8, bf16 ? dnnl_bf16 : dnnl_s8,
                                     bf16 ? dnnl_f32 : dnnl_s32};
  for (int i = 0; i < 3; ++i) ok(dnnl_memory_desc_init_by_tag(&md[i], 2, dims, types[i], dnnl_ab), "a memory descriptor");
  dnnl_matmul_desc_t desc;
  ok(dnnl_matmul_desc_init(&desc, &md[0], &md[1], nullptr, &md[2]), "the matmul descriptor");
  if (dnnl_primitive_desc_create(&s_->pd, &desc, nullptr, s_->engine, nullptr) != dnnl_success)
    throw Error(fmt::format("oneDNN has no {} matmul for this CPU", bf16 ? "bf16" : "u8s8s32"));
  const char* impl = nullptr;
  ok(dnnl_primitive_desc_query(s_->pd, dnnl_query_impl_info_str, 0, &impl), "the implementation name");
  s_->impl = impl ? impl : "?";
  ok(dnnl_primitive_create(&s_->prim, s_->pd), "the matmul primitive");
  void* ptrs[3] = {a, b, c};
  for (int i = 0; i < 3; ++i) ok(dnnl_memory_create(&s_->mem[i], &md[i], s_->engine, ptrs[i]), "a memory object");
}

OnednnMatmul::~OnednnMatmul() = default;

void OnednnMatmul::run(int threads) {
  // oneDNN's OpenMP build runs on omp_get_max_threads() threads.
  const int before = omp_get_max_threads();
  omp_set_num_threads(threads);
  const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, s_->mem[0]}, {DNNL_ARG_WEIGHTS, s_->mem[1]}, {DNNL_ARG_DST, s_->mem[2]}};
  const dnnl_status_t st = dnnl_primitive_execute(s_->prim, s_->stream, 3, args);
  const dnnl_status_t wt = st == dnnl_success ? dnnl_stream_wait(s_->stream) : st;
  omp_set_num_threads(before);
  ok(wt, "executing the matmul");
}

const std::string& OnednnMatmul::impl() const { return s_->impl; }

std::string OnednnMatmul::version() const {
  const dnnl_version_t* v = dnnl_version();
  return fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
}

#else

struct OnednnMatmul::State {
  std::string impl;
};
std::string onednn_missing_reason() { return "roofaudit was built without oneDNN (install libdnnl-dev and rebuild)"; }
OnednnMatmul::OnednnMatmul(bool, int, void*, void*, void*) { throw Error(onednn_missing_reason()); }
OnednnMatmul::~OnednnMatmul() = default;
void OnednnMatmul::run(int) { throw Error(onednn_missing_reason()); }
const std::string& OnednnMatmul::impl() const { return s_->impl; }
std::string OnednnMatmul::version() const { return ""; }

#endif

}  // namespace roofaudit
