/* ISA-L peer for bench/codec.mjs: times ec_encode_data (encode) and decode with cached tables (the decode
 * matrix inverted once, outside the timed loop) for each (k, m, shard size) given on the command line, through
 * the dispatcher and through each ISA's own entry point (ec_encode_data_base/_sse/_avx/_avx2/_avx512), so each
 * of our kernels is compared with ISA-L's kernel for the same ISA. Entry points this CPU cannot run are skipped
 * (CPUID checked here: calling an AVX-512 entry on an AVX2-only CPU would fault). Also times the XOR ceiling:
 * the same k sources read and m outputs written with XOR only (every output = XOR of all sources), an upper
 * bound for any GF(2^8) kernel at that shape.
 * Single thread, hot cache (same buffers every iteration). Prints one JSON object per line:
 *   {"op":"encode|decode1|decodem|xor","isa":"dispatch|base|sse|avx|avx2|avx512|xor-avx2","k":10,"m":4,"size":65536,"gbps":29.5}
 * GB/s counts data bytes in (k * size). Usage: isal_bench TARGET_MS k:m:size [k:m:size ...] */
#include <cpuid.h>
#include <immintrin.h>
#include <isa-l/erasure_code.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Exported by libisal 2.30 but not declared in its public header (which names only _sse/_avx/_avx2/_base). */
void ec_encode_data_avx512(int len, int k, int rows, unsigned char *g_tbls, unsigned char **data, unsigned char **coding);

typedef void (*encode_fn)(int len, int k, int rows, unsigned char *tables, unsigned char **src, unsigned char **dst);

static int has_avx2(void) {
  unsigned a, b, c, d;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 5));
}
static int has_avx512(void) { /* F + BW + VL, what ISA-L's AVX-512 paths use; plus OS support (XCR0 opmask/zmm) */
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  if (!((b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31)))) return 0;
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xe6) == 0xe6;
}
static int has_avx(void) {
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 28));
}

/* The XOR ceiling: dst[r] = XOR of all src, 32 bytes at a time (the same loads and stores as a dot product). */
__attribute__((target("avx2"))) static void xor_avx2(int len, int k, int rows, unsigned char *tables,
                                                     unsigned char **src, unsigned char **dst) {
  (void)tables;
  int c = 0;
  for (; c + 32 <= len; c += 32) {
    __m256i acc = _mm256_loadu_si256((const __m256i *)(src[0] + c));
    for (int j = 1; j < k; j++) acc = _mm256_xor_si256(acc, _mm256_loadu_si256((const __m256i *)(src[j] + c)));
    for (int r = 0; r < rows; r++) _mm256_storeu_si256((__m256i *)(dst[r] + c), acc);
  }
  for (; c < len; c++) {
    unsigned char x = 0;
    for (int j = 0; j < k; j++) x ^= src[j][c];
    for (int r = 0; r < rows; r++) dst[r][c] = x;
  }
}

/* Runs fn over `src` -> `dst` until target_ms elapsed; returns GB/s of k*size. */
static double time_fn(encode_fn fn, int size, int k, int rows, unsigned char *tables, unsigned char **src,
                      unsigned char **dst, double target_ms) {
  for (int i = 0; i < 3; i++) fn(size, k, rows, tables, src, dst); /* warm-up */
  long iters = 0;
  double start = now_s(), elapsed = 0;
  long batch = 1;
  while (elapsed * 1000 < target_ms) {
    for (long i = 0; i < batch; i++) fn(size, k, rows, tables, src, dst);
    iters += batch;
    batch *= 2;
    elapsed = now_s() - start;
  }
  return (double)k * size * iters / elapsed / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s TARGET_MS k:m:size ...\n", argv[0]);
    return 2;
  }
  const double target_ms = atof(argv[1]);
  for (int a = 2; a < argc; a++) {
    int k, m, size;
    if (sscanf(argv[a], "%d:%d:%d", &k, &m, &size) != 3 || k < 1 || m < 1 || k + m > 256 || size < 1) {
      fprintf(stderr, "bad case %s\n", argv[a]);
      return 2;
    }
    const int n = k + m;
    unsigned char *gen = malloc((size_t)n * k), *tables = malloc((size_t)k * m * 32);
    unsigned char **shards = malloc(sizeof(*shards) * n);
    for (int i = 0; i < n; i++) {
      shards[i] = aligned_alloc(64, ((size_t)size + 63) / 64 * 64);
      for (int j = 0; j < size; j++) shards[i][j] = (unsigned char)(rand() & 0xff);
    }
    gf_gen_cauchy1_matrix(gen, n, k);
    ec_init_tables(k, m, &gen[k * k], tables);
    const struct { const char *isa; encode_fn fn; int ok; } isas[] = {
        {"dispatch", ec_encode_data, 1},          {"base", ec_encode_data_base, 1},
        {"sse", ec_encode_data_sse, 1},           {"avx", ec_encode_data_avx, has_avx()},
        {"avx2", ec_encode_data_avx2, has_avx2()}, {"avx512", ec_encode_data_avx512, has_avx512()},
        {"xor-avx2", xor_avx2, has_avx2()},
    };
    for (size_t i = 0; i < sizeof(isas) / sizeof(isas[0]); i++) {
      if (!isas[i].ok) continue;
      /* The base (scalar) path is ~50x slower: a shorter run keeps the whole bench quick. */
      const double ms = strcmp(isas[i].isa, "base") == 0 ? target_ms / 4 : target_ms;
      printf("{\"op\":\"%s\",\"isa\":\"%s\",\"k\":%d,\"m\":%d,\"size\":%d,\"gbps\":%.3f}\n",
             strncmp(isas[i].isa, "xor", 3) == 0 ? "xor" : "encode", isas[i].isa, k, m, size,
             time_fn(isas[i].fn, size, k, m, tables, shards, shards + k, ms));
    }
    /* Decode: lose the first e data shards, rebuild from the next k survivors with cached tables. */
    for (int pass = 0; pass < 2; pass++) {
      const int e = pass == 0 ? 1 : m;
      unsigned char *b = malloc((size_t)k * k), *inv = malloc((size_t)k * k), *coef = malloc((size_t)e * k);
      unsigned char *dtables = malloc((size_t)k * e * 32);
      unsigned char **src = malloc(sizeof(*src) * k), **dst = malloc(sizeof(*dst) * e);
      for (int r = 0; r < k; r++) {
        memcpy(&b[r * k], &gen[(e + r) * k], k);
        src[r] = shards[e + r];
      }
      if (gf_invert_matrix(b, inv, k) != 0) {
        fprintf(stderr, "singular\n");
        return 1;
      }
      for (int t = 0; t < e; t++) {
        memcpy(&coef[t * k], &inv[t * k], k);
        dst[t] = malloc(size);
      }
      ec_init_tables(k, e, coef, dtables);
      printf("{\"op\":\"%s\",\"isa\":\"dispatch\",\"k\":%d,\"m\":%d,\"size\":%d,\"gbps\":%.3f}\n",
             pass == 0 ? "decode1" : "decodem", k, m, size, time_fn(ec_encode_data, size, k, e, dtables, src, dst, target_ms));
      for (int t = 0; t < e; t++) free(dst[t]);
      free(b); free(inv); free(coef); free(dtables); free(src); free(dst);
    }
    for (int i = 0; i < n; i++) free(shards[i]);
    free(shards); free(gen); free(tables);
    fflush(stdout);
  }
  return 0;
}
