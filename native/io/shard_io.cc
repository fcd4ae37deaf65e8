#include "io/shard_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <cstdint>
#include <random>

#include "blake3/blake3.h"
#include "common/sv_assert.h"

namespace sv::io {
namespace {

bool Fail(IoError* e, int err, const char* syscall, const std::string& path) {
  e->err = err;
  e->syscall = syscall;
  e->path = path;
  e->message = std::string(syscall) + " " + path + ": " + std::strerror(err);
  e->code = "ERR_SV_IO";
  return false;
}

bool FailCode(IoError* e, const char* code, const std::string& message, const std::string& path) {
  e->err = 0;
  e->syscall = "";
  e->path = path;
  e->message = message;
  e->code = code;
  return false;
}

// Test-only: SHARDVAULT_TEST_SKIP_DIR_FSYNC=1 skips the directory fsync so the power-cut test can prove it
// detects the missing fsync. Read once; never set it outside that test.
bool SkipDirFsyncForTest() {
  static const bool skip = [] {
    const char* v = std::getenv("SHARDVAULT_TEST_SKIP_DIR_FSYNC");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return skip;
}

int RenameNoReplace(const char* from, const char* to) {
#if defined(SYS_renameat2)
  long r;
  do r = syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */);
  while (r != 0 && errno == EINTR);
  if (r == 0) return 0;
  if (errno != ENOSYS && errno != EINVAL) return -1;
#endif
  // Filesystems without RENAME_NOREPLACE: link() refuses an existing target, then drop the temporary name.
  int r2;
  do r2 = link(from, to);
  while (r2 != 0 && errno == EINTR);
  if (r2 != 0) return -1;
  do r2 = unlink(from);
  while (r2 != 0 && errno == EINTR);
  return r2;
}

int RenameReplace(const char* from, const char* to) {
  int r;
  do r = rename(from, to);
  while (r != 0 && errno == EINTR);
  return r;
}

}  // namespace

bool StatPath(const std::string& path, DiskStat* out, IoError* e) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Fail(e, errno, "stat", path);
  out->dev = static_cast<uint64_t>(st.st_dev);
  out->ino = static_cast<uint64_t>(st.st_ino);
  return true;
}

bool FsyncDir(const std::string& dir, IoError* e) {
  int fd;
  do fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return Fail(e, errno, "open", dir);
  int r;
  do r = fsync(fd);
  while (r != 0 && errno == EINTR);
  const int err = errno;
  close(fd);
  if (r != 0) return Fail(e, err, "fsync", dir);
  return true;
}

bool ShardWriter::Open(const std::string& dir, const std::string& name, uint64_t expectDev, bool direct, IoError* e) {
  SV_ASSERT(fd_ < 0);
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return FailCode(e, "ERR_SV_OUT_OF_RANGE", "shard file name must be a plain file name", name);
  }
  if (expectDev != 0) {
    DiskStat st;
    if (!StatPath(dir, &st, e)) return false;
    if (st.dev != expectDev) {
      return FailCode(e, "ERR_SV_DISK_IDENTITY",
                      "directory " + dir + " is on device " + std::to_string(st.dev) + ", expected " +
                          std::to_string(expectDev) + " (disk not mounted?)",
                      dir);
    }
  }
  dir_ = dir;
  finalPath_ = dir + "/" + name;
  if (direct) {
    direct_ = true;
    tmpPath_ = finalPath_;  // create-only: O_EXCL on the final name itself
    do fd_ = open(finalPath_.c_str(), O_CREAT | O_EXCL | O_CLOEXEC | O_WRONLY, 0600);
    while (fd_ < 0 && errno == EINTR);
    if (fd_ >= 0) return true;
    return Fail(e, errno, "open", finalPath_);
  }
  std::random_device rd;
  char suffix[32];
  for (int attempt = 0; attempt < 8; attempt++) {
    std::snprintf(suffix, sizeof suffix, "%08x%08x", rd(), rd());
    tmpPath_ = dir + "/.tmp-" + name + "-" + suffix;
    do fd_ = open(tmpPath_.c_str(), O_CREAT | O_EXCL | O_CLOEXEC | O_WRONLY, 0600);
    while (fd_ < 0 && errno == EINTR);
    if (fd_ >= 0) return true;
    if (errno != EEXIST) return Fail(e, errno, "open", tmpPath_);
  }
  return Fail(e, EEXIST, "open", tmpPath_);
}

bool ShardWriter::WriteAll(const uint8_t* data, size_t len, int64_t offset, IoError* e) {
  if (lost_) return FailCode(e, "ERR_SV_FSYNC_FAILED", "writer is lost after a failed fsync", tmpPath_);
  if (broken_) return FailCode(e, "ERR_SV_WRITER_STATE", "a write to this shard failed; it can only be aborted", tmpPath_);
  if (fd_ < 0) return FailCode(e, "ERR_SV_WRITER_STATE", "writer is not open", tmpPath_);
  size_t done = 0;
  while (done < len) {
    const ssize_t n = offset < 0 ? write(fd_, data + done, len - done)
                                 : pwrite(fd_, data + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      broken_ = true;  // part of this buffer may be in the file: its content is unknown from here on
      return Fail(e, errno, offset < 0 ? "write" : "pwrite", tmpPath_);
    }
    if (n == 0) {
      broken_ = true;
      return Fail(e, EIO, offset < 0 ? "write" : "pwrite", tmpPath_);  // no progress: never spin
    }
    done += static_cast<size_t>(n);  // short write: continue with the rest
  }
  return true;
}

bool ShardWriter::Append(const uint8_t* data, size_t len, IoError* e) {
  if (!WriteAll(data, len, -1, e)) return false;
  written_ += len;
#ifdef __linux__
  // Start writeback of every full 8 MiB behind us (RocksDB's bytes_per_sync): the device works while the next
  // batch is encoded, and the final fdatasync waits for the tail only. A hint: fdatasync still decides, and
  // reports any writeback error (so the result of this call is not needed).
  if (written_ - writebackFrom_ >= kWritebackBytes) {
    (void)sync_file_range(fd_, static_cast<off_t>(writebackFrom_), static_cast<off_t>(written_ - writebackFrom_), SYNC_FILE_RANGE_WRITE);
    writebackFrom_ = written_;
  }
#endif
  return true;
}

bool ShardWriter::PWrite(const uint8_t* data, size_t len, uint64_t offset, IoError* e) {
  if (offset > static_cast<uint64_t>(INT64_MAX) - len) return FailCode(e, "ERR_SV_OUT_OF_RANGE", "offset + length overflows", tmpPath_);
  if (!WriteAll(data, len, static_cast<int64_t>(offset), e)) return false;
  if (offset + len > written_) written_ = offset + len;
  return true;
}

bool ShardWriter::Seal(bool replace, IoError* e) {
  if (lost_) return FailCode(e, "ERR_SV_FSYNC_FAILED", "writer is lost after a failed fsync; rewrite the shard", tmpPath_);
  if (broken_) return FailCode(e, "ERR_SV_WRITER_STATE", "a write to this shard failed; it can only be aborted", tmpPath_);
  if (durable_ || fd_ < 0) return FailCode(e, "ERR_SV_WRITER_STATE", "writer is not open", tmpPath_);
  if (direct_ && replace) return FailCode(e, "ERR_SV_OUT_OF_RANGE", "a direct writer cannot replace a file", finalPath_);
  int r;
  do r = fdatasync(fd_);
  while (r != 0 && errno == EINTR);
  if (r != 0) {
    // I9: the page cache may already have dropped the failed pages and marked them clean; a retry could
    // "succeed" with the data gone (fsyncgate). This file can never be counted as durable.
    lost_ = true;
    return Fail(e, errno, "fdatasync", tmpPath_);
  }
  const int closeResult = close(fd_);
  fd_ = -1;
  if (closeResult != 0 && errno != EINTR) {
    lost_ = true;
    return Fail(e, errno, "close", tmpPath_);
  }
  if (direct_) {
    // Already under its final name (created with O_EXCL): the directory fsync below makes the entry durable.
  } else if (replace) {
    if (RenameReplace(tmpPath_.c_str(), finalPath_.c_str()) != 0) return Fail(e, errno, "rename", finalPath_);
  } else if (RenameNoReplace(tmpPath_.c_str(), finalPath_.c_str()) != 0) {
    return Fail(e, errno, "rename", finalPath_);
  }
  if (!SkipDirFsyncForTest() && !FsyncDir(dir_, e)) {
    lost_ = true;
    return false;
  }
  durable_ = true;
  return true;
}

void ShardWriter::Abort() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (!durable_ && !tmpPath_.empty()) unlink(tmpPath_.c_str());
}

ShardWriter::~ShardWriter() {
  if (fd_ >= 0) close(fd_);
}

bool ReadRange(const std::string& path, uint64_t offset, uint8_t* out, size_t len, size_t blockBytes,
               const uint8_t* expected, size_t expectedCount, uint8_t* ok, IoError* e) {
  int fd;
  do fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return Fail(e, errno, "open", path);
  size_t done = 0;
  while (done < len) {
    const ssize_t n = pread(fd, out + done, len - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      return Fail(e, err, "pread", path);
    }
    if (n == 0) {
      close(fd);
      return FailCode(e, "ERR_SV_SHORT_READ",
                      "end of file after " + std::to_string(done) + " of " + std::to_string(len) + " bytes", path);
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  if (blockBytes > 0 && expected != nullptr) {
    for (size_t i = 0; i < expectedCount; i++) {
      const size_t start = i * blockBytes;
      SV_ASSERT(start < len);
      const size_t blockLen = std::min(blockBytes, len - start);
      uint8_t digest[blake3::kOutBytes];
      blake3::Hash(out + start, blockLen, digest);
      ok[i] = std::memcmp(digest, expected + i * blake3::kOutBytes, blake3::kOutBytes) == 0 ? 1 : 0;
    }
  }
  return true;
}

}  // namespace sv::io
