// Small fd syscalls Node.js lacks: pipe2, F_DUPFD_CLOEXEC, TIOCSWINSZ/TIOCGWINSZ, F_SETPIPE_SZ,
// mkfifo, socketpair, SO_PEERCRED. Every fd returned is O_CLOEXEC and owned by the caller.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "common.h"

namespace husk {
namespace {

Napi::Array FdPair(Napi::Env env, int a, int b) {
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Number::New(env, a));
  pair.Set(1u, Napi::Number::New(env, b));
  return pair;
}

// pipe() → [readFd, writeFd]: pipe2(O_CLOEXEC). Caller owns both fds.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) ThrowErrno(info.Env(), "pipe2");
  return FdPair(info.Env(), fds[0], fds[1]);
}

// socketPair() → [a, b]: socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC). Caller owns both fds.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) ThrowErrno(info.Env(), "socketpair");
  return FdPair(info.Env(), fds[0], fds[1]);
}

// dup(fd) → new fd: fcntl(fd, F_DUPFD_CLOEXEC, 0). Caller owns the new fd; fd is untouched.
Napi::Value Dup(const Napi::CallbackInfo& info) {
  int fd = fcntl(ArgInt(info, 0, "fd"), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) ThrowErrno(info.Env(), "fcntl(F_DUPFD_CLOEXEC)");
  return Napi::Number::New(info.Env(), fd);
}

// setWinsize(fd, rows, cols): ioctl(fd, TIOCSWINSZ). Borrows fd.
Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  struct winsize size {};
  size.ws_row = static_cast<unsigned short>(ArgInt(info, 1, "rows"));
  size.ws_col = static_cast<unsigned short>(ArgInt(info, 2, "cols"));
  if (ioctl(ArgInt(info, 0, "fd"), TIOCSWINSZ, &size) < 0) ThrowErrno(info.Env(), "ioctl(TIOCSWINSZ)");
  return info.Env().Undefined();
}

// getWinsize(fd) → [rows, cols]: ioctl(fd, TIOCGWINSZ). Borrows fd.
Napi::Value GetWinsize(const Napi::CallbackInfo& info) {
  struct winsize size {};
  if (ioctl(ArgInt(info, 0, "fd"), TIOCGWINSZ, &size) < 0) ThrowErrno(info.Env(), "ioctl(TIOCGWINSZ)");
  return FdPair(info.Env(), size.ws_row, size.ws_col);
}

// setCloseOnExec(fd, on): fcntl(F_GETFD) + fcntl(F_SETFD) toggling FD_CLOEXEC. Borrows fd.
Napi::Value SetCloseOnExec(const Napi::CallbackInfo& info) {
  int fd = ArgInt(info, 0, "fd");
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) ThrowErrno(info.Env(), "fcntl(F_GETFD)");
  flags = info[1].ToBoolean().Value() ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
  if (fcntl(fd, F_SETFD, flags) < 0) ThrowErrno(info.Env(), "fcntl(F_SETFD)");
  return info.Env().Undefined();
}

// setPipeSize(fd, bytes) → new size: fcntl(fd, F_SETPIPE_SZ, bytes). Borrows fd.
Napi::Value SetPipeSize(const Napi::CallbackInfo& info) {
  int size = fcntl(ArgInt(info, 0, "fd"), F_SETPIPE_SZ, ArgInt(info, 1, "bytes"));
  if (size < 0) ThrowErrno(info.Env(), "fcntl(F_SETPIPE_SZ)");
  return Napi::Number::New(info.Env(), size);
}

// mkfifo(path, mode): mkfifo(3). Subject to the umask, like mkfifo(1).
Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  if (mkfifo(path.c_str(), static_cast<mode_t>(ArgInt(info, 1, "mode"))) < 0) ThrowErrno(info.Env(), "mkfifo", path);
  return info.Env().Undefined();
}

// peerCredentials(fd) → {pid, uid, gid}: getsockopt(fd, SOL_SOCKET, SO_PEERCRED). Borrows fd.
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  struct ucred cred {};
  socklen_t length = sizeof cred;
  if (getsockopt(ArgInt(info, 0, "fd"), SOL_SOCKET, SO_PEERCRED, &cred, &length) < 0) {
    ThrowErrno(info.Env(), "getsockopt(SO_PEERCRED)");
  }
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("pid", Napi::Number::New(info.Env(), cred.pid));
  result.Set("uid", Napi::Number::New(info.Env(), cred.uid));
  result.Set("gid", Napi::Number::New(info.Env(), cred.gid));
  return result;
}

}  // namespace

void InitFd(Napi::Env env, Napi::Object exports) {
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair));
  exports.Set("dup", Napi::Function::New(env, Dup));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize));
  exports.Set("getWinsize", Napi::Function::New(env, GetWinsize));
  exports.Set("setCloseOnExec", Napi::Function::New(env, SetCloseOnExec));
  exports.Set("setPipeSize", Napi::Function::New(env, SetPipeSize));
  exports.Set("mkfifo", Napi::Function::New(env, Mkfifo));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials));
}

}  // namespace husk
