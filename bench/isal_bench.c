/* ISA-L peer for bench/codec.mjs: times ec_encode_data (encode) and decode with cached tables (the decode
 * matrix inverted once, outside the timed loop) for each (k, m, shard size) given on the command line.
 * Single thread, hot cache (same buffers every iteration). Prints one JSON object per line:
 *   {"op":"encode|decode1|decodem","k":10,"m":4,"size":65536,"gbps":29.5}
 * GB/s counts data bytes in (k * size). Usage: isal_bench TARGET_MS k:m:size [k:m:size ...] */
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

/* Runs one call of `tables` over `src` -> `dst` until target_ms elapsed; returns GB/s of k*size. */
static double time_dot(int size, int k, int rows, unsigned char *tables, unsigned char **src, unsigned char **dst,
                       double target_ms) {
  for (int i = 0; i < 3; i++) ec_encode_data(size, k, rows, tables, src, dst); /* warm-up */
  long iters = 0;
  double start = now_s(), elapsed = 0;
  long batch = 1;
  while (elapsed * 1000 < target_ms) {
    for (long i = 0; i < batch; i++) ec_encode_data(size, k, rows, tables, src, dst);
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
    printf("{\"op\":\"encode\",\"k\":%d,\"m\":%d,\"size\":%d,\"gbps\":%.3f}\n", k, m, size,
           time_dot(size, k, m, tables, shards, shards + k, target_ms));
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
      printf("{\"op\":\"%s\",\"k\":%d,\"m\":%d,\"size\":%d,\"gbps\":%.3f}\n", pass == 0 ? "decode1" : "decodem", k, m,
             size, time_dot(size, k, e, dtables, src, dst, target_ms));
      for (int t = 0; t < e; t++) free(dst[t]);
      free(b); free(inv); free(coef); free(dtables); free(src); free(dst);
    }
    for (int i = 0; i < n; i++) free(shards[i]);
    free(shards); free(gen); free(tables);
    fflush(stdout);
  }
  return 0;
}
