// EventfdWatch: an eventfd (or any counter fd) polled on the JS thread's libuv loop.
#include <uv.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "common.h"

namespace husk {
namespace {

class EventfdWatch;

// Heap part that must outlive the JS object until libuv's close callback has run.
struct PollHandle {
  uv_poll_t poll;
  int fd;
  EventfdWatch* owner;  // nullptr once closing
};

// new EventfdWatch(fd, onEvent): takes ownership of fd (non-blocking eventfd), also when it throws. uv_poll_init +
// uv_poll_start(UV_READABLE) on the env's loop, uv_unref'd so the watch never keeps the process
// alive. On readiness: read(fd, 8 bytes) until EAGAIN, then onEvent(sum of counters) on the JS thread.
// close(): uv_poll_stop → uv_close → (close callback) close(fd). Idempotent.
class EventfdWatch : public Napi::ObjectWrap<EventfdWatch> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "EventfdWatch", {InstanceMethod("close", &EventfdWatch::Close)});
  }

  explicit EventfdWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EventfdWatch>(info) {
    Napi::Env env = info.Env();
    int fd = ArgInt(info, 0, "fd");
    if (info.Length() < 2 || !info[1].IsFunction()) {
      close(fd);
      throw Napi::TypeError::New(env, "onEvent must be a function");
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      close(fd);
      throw Napi::Error::New(env, "no event loop");
    }
    handle_ = new PollHandle{};
    handle_->fd = fd;
    handle_->owner = this;
    handle_->poll.data = handle_;
    int rc = uv_poll_init(loop, &handle_->poll, fd);
    if (rc < 0) {
      delete handle_;
      handle_ = nullptr;
      close(fd);
      throw ErrnoError(env, -rc, "uv_poll_init");
    }
    rc = uv_poll_start(&handle_->poll, UV_READABLE, OnReadable);
    if (rc < 0) {
      CloseHandle();
      throw ErrnoError(env, -rc, "uv_poll_start");
    }
    uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->poll));
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    Ref();  // stays alive while polling, even if JS drops the object
  }

  ~EventfdWatch() override { CloseHandle(); }

 private:
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (handle_ != nullptr) {
      CloseHandle();
      callback_.Reset();
      Unref();
    }
    return info.Env().Undefined();
  }

  void CloseHandle() {
    if (handle_ == nullptr) return;
    handle_->owner = nullptr;
    uv_poll_stop(&handle_->poll);
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll), [](uv_handle_t* h) {
      auto* handle = static_cast<PollHandle*>(h->data);
      close(handle->fd);
      delete handle;
    });
    handle_ = nullptr;
  }

  static void OnReadable(uv_poll_t* poll, int status, int /*events*/) {
    auto* handle = static_cast<PollHandle*>(poll->data);
    EventfdWatch* self = handle->owner;
    if (self == nullptr) return;
    uint64_t total = 0;
    for (;;) {
      uint64_t value = 0;
      ssize_t n = read(handle->fd, &value, sizeof value);
      if (n == static_cast<ssize_t>(sizeof value)) {
        total += value;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    if (status < 0 || total == 0) return;
    Napi::Env env = self->callback_.Env();
    Napi::HandleScope scope(env);
    try {
      self->callback_.Call({Napi::Number::New(env, static_cast<double>(total))});
    } catch (const Napi::Error& e) {
      e.ThrowAsJavaScriptException();
    }
  }

  PollHandle* handle_ = nullptr;
  Napi::FunctionReference callback_;
};

}  // namespace

void InitEventfdWatch(Napi::Env env, Napi::Object exports) {
  exports.Set("EventfdWatch", EventfdWatch::Define(env));
}

}  // namespace husk
