// First in the program: what the families share.
//
// NN_INLINE precedes every function that is not a kernel.
// - static: in OpenCL C, as in C99, a plain `inline` function is only an inline definition, with no
//   body the linker can call, so a compiler that declines to inline one call leaves an undefined
//   symbol and the program fails to build. Clang for AMD GPUs declines tg_body (gemm.cl), which four
//   kernels call, and clang for NVIDIA also softmax_item_stats and row_exp_vector; PoCL inlines
//   everything, which is why only a GPU compiler showed it.
// - always_inline: a call on a GPU passes values through the stack, which lives in slow private
//   memory, and keeps the caller's registers from being allocated across it. Inlined, a helper is
//   also specialised to each kernel's constants (tg_body to each transpose pair). A compiler that
//   does not know the attribute ignores it.
// Tests/ConformanceTests/GPUCompilerTests.swift compiles the program for AMD and NVIDIA GPUs to check
// both, and that no GPU kernel needs private memory.
#define NN_INLINE static inline __attribute__((always_inline))
