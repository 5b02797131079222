// Run-time CPU feature detection for the kernel variants. CPUID says what the core implements;
// XGETBV says whether the OS saves the wider registers on a context switch (a kernel may disable
// AVX-512 state), and both must hold before a variant's code may run.
#include "CNativeKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    // xgetbv by opcode bytes, so this file needs no target attribute of its own.
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

unsigned nn_cpu_features(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const int has_fma = (ecx >> 12) & 1, has_osxsave = (ecx >> 27) & 1, has_avx = (ecx >> 28) & 1;
    if (!(has_osxsave && has_avx && has_fma)) return 0;
    const unsigned long long xcr0 = read_xcr0();
    const int ymm_saved = (xcr0 & 0x6) == 0x6;            // XMM and YMM state
    const int zmm_saved = (xcr0 & 0xe6) == 0xe6;          // plus opmask, ZMM_Hi256, Hi16_ZMM
    if (!ymm_saved) return 0;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const int has_avx2 = (ebx >> 5) & 1, has_avx512f = (ebx >> 16) & 1;
    unsigned features = 0;
    if (has_avx2) features |= NN_CPU_AVX2_FMA;
    if (has_avx2 && has_avx512f && zmm_saved) features |= NN_CPU_AVX512F;
    return features;
}
#else
unsigned nn_cpu_features(void) { return 0; }
#endif
