#version 450
// Matmul on the device's matrix units, block-tiled: VK_NV_cooperative_matrix, or with KHR
// defined VK_KHR_cooperative_matrix (built only where glslc accepts it). fp16
// inputs, fp32 accumulate, row-major n x n, n a multiple of the block. A workgroup of
// WM x WN subgroups computes a BM x BN block of C (BM = WM * TM * 16, BN = WN * TN * 16);
// each subgroup holds TM x TN accumulators of 16 x 16. Per k-chunk of BK = 32, the
// workgroup copies the A and B blocks to padded shared memory with 128-bit loads, and the
// next chunk's loads are issued into registers before the current chunk is multiplied.
// Specialization constants: 0 the workgroup size (WM * WN * subgroup size), 1 WM, 2 WN,
// 3 TM, 4 TN. Push constant: n.
// With DECODE, one decode step instead, in decode.comp's bindings and push constants:
// y (batch x rows) = x (batch x k) . W^T, W row-major rows x k, batch a multiple of 16 and
// rows of BN. A is x (rows past the batch read as zero); B is W^T, whose columns (W's rows)
// are staged like A's rows and read as column-major tiles.
// With INT8 (NV form, GEMM only): int8 inputs (16 x 32 by 32 x 16 tiles), int32 accumulate
// and int32 C, k-chunks of 64.
#ifdef KHR
#extension GL_KHR_cooperative_matrix : require
#define ACC coopmat<float, gl_ScopeSubgroup, 16, 16, gl_MatrixUseAccumulator>
#define TILE_A coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA>
#define TILE_B coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseB>
#define LOAD(m, from, at, stride) coopMatLoad(m, from, at, stride, gl_CooperativeMatrixLayoutRowMajor)
#define LOAD_COLUMNS(m, from, at, stride) coopMatLoad(m, from, at, stride, gl_CooperativeMatrixLayoutColumnMajor)
#define STORE(m, to, at, stride) coopMatStore(m, to, at, stride, gl_CooperativeMatrixLayoutRowMajor)
#define MULADD coopMatMulAdd
#else
#extension GL_NV_cooperative_matrix : require
#ifdef INT8
#extension GL_NV_integer_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#define ACC icoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define TILE_A icoopmatNV<8, gl_ScopeSubgroup, 16, 32>
#define TILE_B icoopmatNV<8, gl_ScopeSubgroup, 32, 16>
#else
#define ACC fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define TILE_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define TILE_B fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#endif
#define LOAD(m, from, at, stride) coopMatLoadNV(m, from, at, stride, false)
#define LOAD_COLUMNS(m, from, at, stride) coopMatLoadNV(m, from, at, stride, true)
#define STORE(m, to, at, stride) coopMatStoreNV(m, to, at, stride, false)
#define MULADD coopMatMulAddNV
#endif
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint LOCAL = 128;
layout(constant_id = 1) const uint WM = 2;
layout(constant_id = 2) const uint WN = 2;
layout(constant_id = 3) const uint TM = 2;
layout(constant_id = 4) const uint TN = 2;
#ifdef INT8
#define ELEMENT int8_t
#define RESULT int
const uint BK = 64, KT = 32, PER_WORD = 16;  // k per chunk and per tile; elements per 128-bit word
#else
#define ELEMENT float16_t
#define RESULT float
const uint BK = 32, KT = 16, PER_WORD = 8;
#endif
const uint BM = WM * TM * 16;
const uint BN = WN * TN * 16;
const uint PAD = PER_WORD;  // 16 bytes, so rows start on distinct banks and stay 16-byte aligned
const uint SA = BK + PAD;  // shared row strides, in elements
#ifdef DECODE
const uint SB = SA;  // B's block is stored as BN rows of BK
#else
const uint SB = BN + PAD;
#endif
// 128-bit words per chunk of A and of B, and per invocation.
const uint A_WORDS = BM * BK / PER_WORD;
const uint B_WORDS = BK * BN / PER_WORD;
const uint A_PER = (A_WORDS + LOCAL - 1) / LOCAL;
const uint B_PER = (B_WORDS + LOCAL - 1) / LOCAL;

#ifdef DECODE
layout(std430, binding = 0) readonly buffer W { uvec4 b[]; };
layout(std430, binding = 1) readonly buffer X { uvec4 a[]; };
layout(std430, binding = 4) writeonly buffer Y { float c[]; };
layout(push_constant) uniform Params { uint rows; uint chunks; uint batch; } p;
shared ELEMENT sb[BN * SB];
#else
layout(std430, binding = 0) readonly buffer A { uvec4 a[]; };
layout(std430, binding = 1) readonly buffer B { uvec4 b[]; };
layout(std430, binding = 2) writeonly buffer C { RESULT c[]; };
layout(push_constant) uniform Params { uint n; } p;
shared ELEMENT sb[BK * SB];
#endif
shared ELEMENT sa[BM * SA];

#ifdef INT8
void store_a(uint at, uvec4 v) {
  [[unroll]] for (uint i = 0; i < 4; ++i) {
    const i8vec4 q = unpack8(int(v[i]));
    [[unroll]] for (uint j = 0; j < 4; ++j) sa[at + 4 * i + j] = q[j];
  }
}
void store_b(uint at, uvec4 v) {
  [[unroll]] for (uint i = 0; i < 4; ++i) {
    const i8vec4 q = unpack8(int(v[i]));
    [[unroll]] for (uint j = 0; j < 4; ++j) sb[at + 4 * i + j] = q[j];
  }
}
#else
void store_a(uint at, uvec4 v) {
  [[unroll]] for (uint i = 0; i < 4; ++i) {
    const f16vec2 h = unpackFloat2x16(v[i]);
    sa[at + 2 * i] = h.x;
    sa[at + 2 * i + 1] = h.y;
  }
}
void store_b(uint at, uvec4 v) {
  [[unroll]] for (uint i = 0; i < 4; ++i) {
    const f16vec2 h = unpackFloat2x16(v[i]);
    sb[at + 2 * i] = h.x;
    sb[at + 2 * i + 1] = h.y;
  }
}
#endif

void main() {
#ifdef DECODE
  const uint words = p.chunks, K = words * PER_WORD, M = p.batch, N = p.rows;
#else
  const uint words = p.n / PER_WORD, K = p.n, M = p.n, N = p.n;
#endif
  const uint t = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.y * BM, col0 = gl_WorkGroupID.x * BN;
  const uint sg = gl_SubgroupID, wm = sg / WN, wn = sg % WN;

  ACC acc[TM * TN];
  [[unroll]] for (uint i = 0; i < TM * TN; ++i) acc[i] = ACC(0);

  uvec4 ra[A_PER], rb[B_PER];
  // Where B's word w of the chunk at k0 lies in its buffer, and in shared memory.
#ifdef DECODE
#define B_WORD(k0, w) (col0 + (w) / (BK / PER_WORD)) * words + (k0) / PER_WORD + (w) % (BK / PER_WORD)
#define B_SHARED(w) ((w) / (BK / PER_WORD)) * SB + ((w) % (BK / PER_WORD)) * PER_WORD
#else
#define B_WORD(k0, w) ((k0) + (w) / (BN / PER_WORD)) * words + col0 / PER_WORD + (w) % (BN / PER_WORD)
#define B_SHARED(w) ((w) / (BN / PER_WORD)) * SB + ((w) % (BN / PER_WORD)) * PER_WORD
#endif
  // Chunk k0's words into registers.
#define FETCH(k0)                                                                       \
  [[unroll]] for (uint i = 0; i < A_PER; ++i) {                                         \
    const uint w = t + i * LOCAL;                                                       \
    const uint r = row0 + w / (BK / PER_WORD);                                                 \
    if (w < A_WORDS) ra[i] = r < M ? a[r * words + (k0) / PER_WORD + w % (BK / PER_WORD)] : uvec4(0);  \
  }                                                                                     \
  [[unroll]] for (uint i = 0; i < B_PER; ++i) {                                         \
    const uint w = t + i * LOCAL;                                                       \
    if (w < B_WORDS) rb[i] = b[B_WORD(k0, w)];                                          \
  }
  FETCH(0)
  for (uint k0 = 0; k0 < K; k0 += BK) {
    [[unroll]] for (uint i = 0; i < A_PER; ++i) {
      const uint w = t + i * LOCAL;
      if (w < A_WORDS) store_a((w / (BK / PER_WORD)) * SA + (w % (BK / PER_WORD)) * PER_WORD, ra[i]);
    }
    [[unroll]] for (uint i = 0; i < B_PER; ++i) {
      const uint w = t + i * LOCAL;
      if (w < B_WORDS) store_b(B_SHARED(w), rb[i]);
    }
    barrier();
    if (k0 + BK < K) {
      FETCH(k0 + BK)
    }
    [[unroll]] for (uint kk = 0; kk < BK; kk += KT) {
      TILE_A at[TM];
      [[unroll]] for (uint i = 0; i < TM; ++i) LOAD(at[i], sa, (wm * TM * 16 + i * 16) * SA + kk, SA);
      [[unroll]] for (uint j = 0; j < TN; ++j) {
        TILE_B bt;
#ifdef DECODE
        LOAD_COLUMNS(bt, sb, (wn * TN * 16 + j * 16) * SB + kk, SB);
#else
        LOAD(bt, sb, kk * SB + wn * TN * 16 + j * 16, SB);
#endif
        [[unroll]] for (uint i = 0; i < TM; ++i) acc[i * TN + j] = MULADD(at[i], bt, acc[i * TN + j]);
      }
    }
    barrier();
  }
  [[unroll]] for (uint i = 0; i < TM; ++i) {
    const uint r = row0 + (wm * TM + i) * 16;
    if (r < M)
      [[unroll]] for (uint j = 0; j < TN; ++j) STORE(acc[i * TN + j], c, r * N + col0 + (wn * TN + j) * 16, N);
  }
}
