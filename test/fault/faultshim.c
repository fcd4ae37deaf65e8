/* LD_PRELOAD fault injector for the shard I/O tests (our own; see fault-harness.md section 3c for the idea).
 * Environment:
 *   FAULT_PREFIX   only calls on paths (or fds whose /proc/self/fd link) starting with this prefix count
 *   FAULT_OPS      comma list of: open,write,pwrite,fdatasync,fsync,rename,link,unlink,pread (or "all")
 *   FAULT_NTH      1-based index among matching calls at which to act (0: never; log only)
 *   FAULT_COUNT    how many consecutive matching calls to hit from NTH on (-1: all later ones), default 1
 *   FAULT_ACTION   errno | short | eintr | kill (short: write/pwrite/pread move at most half the bytes;
 *                  kill: SIGKILL the process just before the call, as a crash at that instruction would)
 *   FAULT_ERRNO    EIO | ENOSPC | EROFS | EDQUOT (for errno), default EIO
 *   FAULT_LOG      file to append "n op path result" lines to
 * Counting is global across threads (a mutex), so with UV_THREADPOOL_SIZE=1 sequences are deterministic. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter = 0;

static int prefix_match(const char *path) {
  const char *prefix = getenv("FAULT_PREFIX");
  return prefix != NULL && path != NULL && strncmp(path, prefix, strlen(prefix)) == 0;
}

static int fd_match(int fd) {
  char link[64], target[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = 0;
  return prefix_match(target);
}

static int op_enabled(const char *op) {
  const char *ops = getenv("FAULT_OPS");
  if (ops == NULL) return 0;
  if (strcmp(ops, "all") == 0) return 1;
  size_t len = strlen(op);
  for (const char *p = ops; (p = strstr(p, op)) != NULL; p += len) {
    if ((p == ops || p[-1] == ',') && (p[len] == 0 || p[len] == ',')) return 1;
  }
  return 0;
}

static int errno_value(void) {
  const char *e = getenv("FAULT_ERRNO");
  if (e == NULL || strcmp(e, "EIO") == 0) return EIO;
  if (strcmp(e, "ENOSPC") == 0) return ENOSPC;
  if (strcmp(e, "EROFS") == 0) return EROFS;
  if (strcmp(e, "EDQUOT") == 0) return EDQUOT;
  return EIO;
}

/* Returns 0: pass through; 1: inject errno; 2: short; 3: eintr. */
static int decide(const char *op, const char *path) {
  if (!op_enabled(op)) return 0;
  pthread_mutex_lock(&lock);
  long n = ++counter;
  pthread_mutex_unlock(&lock);
  const char *nth_s = getenv("FAULT_NTH");
  const char *count_s = getenv("FAULT_COUNT");
  long nth = nth_s ? atol(nth_s) : 0;
  long count = count_s ? atol(count_s) : 1;
  int act = 0;
  if (nth > 0 && n >= nth && (count < 0 || n < nth + count)) {
    const char *a = getenv("FAULT_ACTION");
    act = (a == NULL || strcmp(a, "errno") == 0) ? 1 : strcmp(a, "short") == 0 ? 2 : strcmp(a, "eintr") == 0 ? 3 : 0;
    if (a != NULL && strcmp(a, "kill") == 0) raise(SIGKILL);
  }
  const char *log = getenv("FAULT_LOG");
  if (log != NULL) {
    FILE *f = fopen(log, "a");
    if (f != NULL) {
      fprintf(f, "%ld %s %s %s\n", n, op, path ? path : "?", act == 0 ? "pass" : act == 1 ? "errno" : act == 2 ? "short" : "eintr");
      fclose(f);
    }
  }
  return act;
}

#define REAL(name) static __typeof__(name) *real_##name; if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name)

static char *fd_path(int fd, char *buf, size_t size) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, buf, size - 1);
  if (n <= 0) return NULL;
  buf[n] = 0;
  return buf;
}

static int open_common(const char *path, int flags, mode_t mode, int (*real)(const char *, int, ...)) {
  if (prefix_match(path)) {
    int act = decide("open", path);
    if (act == 1) { errno = errno_value(); return -1; }
    if (act == 3) { errno = EINTR; return -1; }
  }
  return real(path, flags, mode);
}

int open(const char *path, int flags, ...) {
  REAL(open);
  mode_t mode = 0;
  if (flags & O_CREAT) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
  return open_common(path, flags, mode, real_open);
}

int open64(const char *path, int flags, ...) {
  REAL(open64);
  mode_t mode = 0;
  if (flags & O_CREAT) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }
  return open_common(path, flags, mode, real_open64);
}

static ssize_t rw(const char *op, int fd, size_t *count) {
  char buf[4096];
  if (!fd_match(fd)) return 0;
  int act = decide(op, fd_path(fd, buf, sizeof buf));
  if (act == 1) { errno = errno_value(); return -1; }
  if (act == 3) { errno = EINTR; return -1; }
  if (act == 2 && *count > 1) *count = *count / 2;
  return 0;
}

ssize_t write(int fd, const void *data, size_t count) {
  REAL(write);
  if (rw("write", fd, &count) < 0) return -1;
  return real_write(fd, data, count);
}

ssize_t pwrite(int fd, const void *data, size_t count, off_t offset) {
  REAL(pwrite);
  if (rw("pwrite", fd, &count) < 0) return -1;
  return real_pwrite(fd, data, count, offset);
}

ssize_t pwrite64(int fd, const void *data, size_t count, off_t offset) {
  REAL(pwrite64);
  if (rw("pwrite", fd, &count) < 0) return -1;
  return real_pwrite64(fd, data, count, offset);
}

ssize_t pread(int fd, void *data, size_t count, off_t offset) {
  REAL(pread);
  if (rw("pread", fd, &count) < 0) return -1;
  return real_pread(fd, data, count, offset);
}

ssize_t pread64(int fd, void *data, size_t count, off_t offset) {
  REAL(pread64);
  if (rw("pread", fd, &count) < 0) return -1;
  return real_pread64(fd, data, count, offset);
}

static int sync_common(const char *op, int fd) {
  char buf[4096];
  if (!fd_match(fd)) return 0;
  int act = decide(op, fd_path(fd, buf, sizeof buf));
  if (act == 1) { errno = errno_value(); return -1; }
  if (act == 3) { errno = EINTR; return -1; }
  return 0;
}

int fdatasync(int fd) {
  REAL(fdatasync);
  if (sync_common("fdatasync", fd) < 0) return -1;
  return real_fdatasync(fd);
}

int fsync(int fd) {
  REAL(fsync);
  if (sync_common("fsync", fd) < 0) return -1;
  return real_fsync(fd);
}

static int path_op(const char *op, const char *path) {
  if (!prefix_match(path)) return 0;
  int act = decide(op, path);
  if (act == 1) { errno = errno_value(); return -1; }
  if (act == 3) { errno = EINTR; return -1; }
  return 0;
}

int rename(const char *from, const char *to) {
  REAL(rename);
  if (path_op("rename", to) < 0) return -1;
  return real_rename(from, to);
}

int link(const char *from, const char *to) {
  REAL(link);
  if (path_op("link", to) < 0) return -1;
  return real_link(from, to);
}

int unlink(const char *path) {
  REAL(unlink);
  if (path_op("unlink", path) < 0) return -1;
  return real_unlink(path);
}

/* The addon renames with syscall(SYS_renameat2, ...): intercept that one number, forward everything else. */
long syscall(long number, ...) {
  REAL(syscall);
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
#ifdef SYS_renameat2
  if (number == SYS_renameat2 && path_op("rename", (const char *)a[3]) < 0) return -1;
#endif
  return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
