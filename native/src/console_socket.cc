// The --console-socket receiver: a listening AF_UNIX socket and an off-thread receive of exactly
// one fd sent with SCM_RIGHTS (runc/crun send the pty master this way).
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace husk {
namespace {

constexpr size_t kPayloadBytes = 4096;

// listenUnix(path) → fd: socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK) → bind(path)
// → listen(backlog 1). Caller owns the fd (and removes the path).
Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  struct sockaddr_un address {};
  if (path.size() >= sizeof address.sun_path) {
    throw ErrnoError(env, ENAMETOOLONG, "bind", path);
  }
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) ThrowErrno(env, "socket");
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) < 0 || listen(fd, 1) < 0) {
    int err = errno;
    close(fd);
    throw ErrnoError(env, err, "bind", path);
  }
  return Napi::Number::New(env, fd);
}

// eventfd(flags?) → fd: eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK). Caller owns the fd. Used to cancel a
// pending receive (write 8 bytes to it) and for cgroup v1 notifications.
Napi::Value Eventfd(const Napi::CallbackInfo& info) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) ThrowErrno(info.Env(), "eventfd");
  return Napi::Number::New(info.Env(), fd);
}

long long NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Receives one fd on a thread-pool thread. Syscall sequence:
//   poll({listenFd, cancelFd}, remaining) → accept4(listenFd, SOCK_CLOEXEC|SOCK_NONBLOCK)
//   → poll({conn, cancelFd}, remaining) → recvmsg(conn, 4096-byte buffer, CMSG_SPACE(sizeof(int)),
//   MSG_CMSG_CLOEXEC) → close(conn).
// fd ownership: listenFd and cancelFd are borrowed (the JS side closes them only after this worker
// settled); the accepted connection is closed here; the received fd goes to the caller on success
// and is closed here on any failure (extra fds, truncated control data).
class ReceiveWorker : public Napi::AsyncWorker {
 public:
  ReceiveWorker(Napi::Env env, int listen_fd, int cancel_fd, int timeout_ms)
      : Napi::AsyncWorker(env, "husk-console-receive"),
        deferred_(Napi::Promise::Deferred::New(env)),
        listen_fd_(listen_fd),
        cancel_fd_(cancel_fd),
        timeout_ms_(timeout_ms) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    const long long deadline = NowMs() + timeout_ms_;
    int conn = -1;
    for (;;) {
      if (!WaitReadable(listen_fd_, deadline)) return;
      conn = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (conn >= 0) break;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) continue;
      return Fail(errno, "accept4");
    }
    ReceiveOn(conn, deadline);
    close(conn);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("fd", Napi::Number::New(env, received_fd_));
    result.Set("name", Napi::String::New(env, name_));
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& /*unused*/) override {
    deferred_.Reject(ErrnoError(Env(), err_, syscall_.c_str(), detail_).Value());
  }

 private:
  void Fail(int err, const char* syscall, const std::string& detail = "") {
    err_ = err;
    syscall_ = syscall;
    detail_ = detail;
    SetError(syscall);
  }

  // Waits until fd is readable; false (with the error set) on timeout or cancellation.
  bool WaitReadable(int fd, long long deadline) {
    for (;;) {
      long long remaining = deadline - NowMs();
      if (remaining < 0) remaining = 0;
      struct pollfd fds[2] = {{fd, POLLIN, 0}, {cancel_fd_, POLLIN, 0}};
      int n = poll(fds, 2, static_cast<int>(remaining));
      if (n < 0) {
        if (errno == EINTR) continue;
        Fail(errno, "poll");
        return false;
      }
      if (fds[1].revents != 0) {
        Fail(ECANCELED, "poll", "console socket closed");
        return false;
      }
      if (fds[0].revents != 0) return true;
      if (remaining == 0) {
        Fail(ETIMEDOUT, "poll", "no console fd received in time");
        return false;
      }
    }
  }

  void ReceiveOn(int conn, long long deadline) {
    std::vector<char> payload(kPayloadBytes);
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    for (;;) {
      if (!WaitReadable(conn, deadline)) return;
      struct iovec iov {payload.data(), payload.size()};
      struct msghdr message {};
      message.msg_iov = &iov;
      message.msg_iovlen = 1;
      message.msg_control = control;
      message.msg_controllen = sizeof control;
      ssize_t n = recvmsg(conn, &message, MSG_CMSG_CLOEXEC);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return Fail(errno, "recvmsg");
      }
      std::vector<int> fds;
      for (struct cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
          int fd;
          std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
          fds.push_back(fd);
        }
      }
      if (fds.size() != 1 || (message.msg_flags & MSG_CTRUNC) != 0) {
        for (int fd : fds) close(fd);
        if (n == 0 && fds.empty()) return Fail(EBADMSG, "recvmsg", "connection closed without a file descriptor");
        return Fail(EBADMSG, "recvmsg", "expected exactly one SCM_RIGHTS file descriptor");
      }
      received_fd_ = fds[0];
      name_.assign(payload.data(), static_cast<size_t>(n));
      return;
    }
  }

  Napi::Promise::Deferred deferred_;
  int listen_fd_;
  int cancel_fd_;
  int timeout_ms_;
  int received_fd_ = -1;
  std::string name_;
  int err_ = 0;
  std::string syscall_;
  std::string detail_;
};

// receiveFd(listenFd, cancelFd, timeoutMs) → Promise<{fd, name}>; rejects with code ETIMEDOUT,
// ECANCELED (cancelFd became readable) or EBADMSG (malformed message).
Napi::Value ReceiveFd(const Napi::CallbackInfo& info) {
  auto* worker = new ReceiveWorker(info.Env(), ArgInt(info, 0, "listenFd"), ArgInt(info, 1, "cancelFd"),
                                   ArgInt(info, 2, "timeoutMs"));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void InitConsoleSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("listenUnix", Napi::Function::New(env, ListenUnix));
  exports.Set("eventfd", Napi::Function::New(env, Eventfd));
  exports.Set("receiveFd", Napi::Function::New(env, ReceiveFd));
}

}  // namespace husk
