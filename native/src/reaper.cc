// The child subreaper and the single reaper thread.
//
// Pid-reuse safety through spawn generations
// -------------------------------------------
// A 64-bit generation counter is guarded by a mutex. spawn() holds that mutex while it
// increments the counter and clone()s (BeginSpawn/EndSpawn), and an exit capture bumps it when it
// opens. The reaper never reaps blindly: it first *peeks* at an exited child with
// waitid(P_ALL, WEXITED|WNOWAIT) — which leaves the zombie in place, so its pid stays taken — then
// reads the generation under the mutex, and only then reaps that pid with waitid(P_PID). Each exit
// is tagged with the generation read in between. Hence:
//   * a child spawned at generation g exited after its clone() finished, so its exit is tagged >= g;
//   * a later process that reuses the pid can only be cloned after the reap, hence after the read,
//     so it has a generation strictly greater than the tag of the old exit.
// The JS side therefore lets a waiter for a child of generation g accept only exits tagged >= g, and
// a capture opened at generation g buffer only exits tagged >= g. An exit still queued for the JS
// thread can never be taken for that of a newer process with the same pid.
//
// ECHILD handling: without children waitid fails with ECHILD at once. A re-parented orphan can only
// appear while we still have a descendant, so ECHILD means "nothing to wait for until the next
// spawn": the thread sleeps on a condition variable, which EndSpawn() notifies, with a 1 s safety re-poll.
//
// Thread lifetime: the thread is detached (a joinable std::thread at process exit aborts the
// process) and lives as long as the process; it only blocks in waitid or on the condition variable.
// Deliveries go through a Napi::ThreadSafeFunction. An env cleanup hook flips `closing` under
// the post mutex before Node tears the function down, so the thread never calls into a finalized one.
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "common.h"

namespace husk {
namespace {

// Shared with the detached reaper thread, so it is allocated once and never destroyed: a static
// std::condition_variable would be destroyed by exit() while the thread waits on it, and glibc's
// pthread_cond_destroy then blocks until that wait ends (seen as a 1-4 s delay of every exit).
struct ReaperState {
  std::mutex generation_mutex;
  std::condition_variable generation_cv;
  unsigned long long generation = 0;

  std::mutex post_mutex;
  bool closing = false;
  bool started = false;
  Napi::ThreadSafeFunction tsfn;
};

ReaperState& State() {
  static ReaperState* state = new ReaperState();  // intentionally leaked, see above
  return *state;
}

struct ExitRecord {
  pid_t pid;
  int status;   // exit code, or 128 + signal
  int signal;   // 0 when the process exited normally
  double at_ms; // CLOCK_REALTIME when reaped, in ms since the epoch
  unsigned long long generation;
};

void DeliverOnJsThread(Napi::Env env, Napi::Function callback, ExitRecord* record) {
  if (env != nullptr && callback != nullptr) {
    try {
      callback.Call({Napi::Number::New(env, record->pid), Napi::Number::New(env, record->status),
                     Napi::Number::New(env, record->signal), Napi::Number::New(env, record->at_ms),
                     Napi::Number::New(env, static_cast<double>(record->generation))});
    } catch (const Napi::Error& e) {
      // Surface a throwing dispatcher as an uncaught exception instead of losing it silently.
      e.ThrowAsJavaScriptException();
    }
  }
  delete record;
}

double NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Reaper thread body. Syscalls: waitid(P_ALL, WEXITED|WNOWAIT|__WALL) to peek, then
// waitid(P_PID, pid, WEXITED|__WALL) to reap exactly that pid. Owns no fds.
void ReaperLoop() {
  // Signals are for the JS thread (libuv's handlers); this thread must not take them or see EINTR.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  for (;;) {
    unsigned long long seen;
    {
      std::lock_guard<std::mutex> lock(State().generation_mutex);
      seen = State().generation;
    }
    siginfo_t peek;
    std::memset(&peek, 0, sizeof peek);
    if (waitid(P_ALL, 0, &peek, WEXITED | WNOWAIT | __WALL) < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) {
        std::unique_lock<std::mutex> lock(State().generation_mutex);
        State().generation_cv.wait_for(lock, std::chrono::seconds(1), [seen] { return State().generation != seen; });
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // unexpected: never spin
      continue;
    }
    const pid_t pid = peek.si_pid;
    if (pid <= 0) continue;
    unsigned long long generation;
    {
      std::lock_guard<std::mutex> lock(State().generation_mutex);
      generation = State().generation;
    }
    siginfo_t info;
    std::memset(&info, 0, sizeof info);
    int rc;
    do {
      rc = waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | __WALL);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) continue;
    auto* record = new ExitRecord{pid, 0, 0, NowMs(), generation};
    if (info.si_code == CLD_EXITED) {
      record->status = info.si_status;
    } else {  // CLD_KILLED or CLD_DUMPED
      record->signal = info.si_status;
      record->status = 128 + info.si_status;
    }
    std::lock_guard<std::mutex> lock(State().post_mutex);
    if (State().closing || State().tsfn.NonBlockingCall(record, DeliverOnJsThread) != napi_ok) delete record;
  }
}

// startReaper(onExit): creates the threadsafe function (unref'd) and starts the detached reaper
// thread. onExit(pid, status, signal, atMs, generation) runs on the JS thread. Callable once.
Napi::Value StartReaper(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "onExit must be a function");
  std::lock_guard<std::mutex> lock(State().post_mutex);
  ReaperState& state = State();
  if (state.started) throw Napi::Error::New(env, "the reaper is already running");
  state.tsfn = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "husk-reaper", 0, 1);
  state.tsfn.Unref(env);
  env.AddCleanupHook([] {
    std::lock_guard<std::mutex> inner(State().post_mutex);
    State().closing = true;
  });
  std::thread(ReaperLoop).detach();
  state.started = true;
  return env.Undefined();
}

// reaperRef(keepAlive): ref/unref the threadsafe function so the event loop stays alive exactly
// while JS has waiters. JS thread only.
Napi::Value ReaperRef(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReaperState& state = State();
  if (!state.started) return env.Undefined();
  if (info.Length() > 0 && info[0].ToBoolean().Value()) {
    state.tsfn.Ref(env);
  } else {
    state.tsfn.Unref(env);
  }
  return env.Undefined();
}

// bumpGeneration(): increments the spawn generation and returns it (an exit capture's start mark).
Napi::Value BumpGenerationJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(BumpGeneration()));
}

// setChildSubreaper(): prctl(PR_SET_CHILD_SUBREAPER, 1).
Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) ThrowErrno(info.Env(), "prctl(PR_SET_CHILD_SUBREAPER)");
  return info.Env().Undefined();
}

// isChildSubreaper(): prctl(PR_GET_CHILD_SUBREAPER).
Napi::Value IsChildSubreaper(const Napi::CallbackInfo& info) {
  int value = 0;
  if (prctl(PR_GET_CHILD_SUBREAPER, &value, 0, 0, 0) < 0) ThrowErrno(info.Env(), "prctl(PR_GET_CHILD_SUBREAPER)");
  return Napi::Boolean::New(info.Env(), value != 0);
}

}  // namespace

unsigned long long BeginSpawn() {
  State().generation_mutex.lock();
  return ++State().generation;
}

void EndSpawn() {
  State().generation_mutex.unlock();
  State().generation_cv.notify_all();
}

unsigned long long BumpGeneration() {
  unsigned long long generation;
  {
    std::lock_guard<std::mutex> lock(State().generation_mutex);
    generation = ++State().generation;
  }
  State().generation_cv.notify_all();
  return generation;
}

void InitReaper(Napi::Env env, Napi::Object exports) {
  exports.Set("startReaper", Napi::Function::New(env, StartReaper));
  exports.Set("reaperRef", Napi::Function::New(env, ReaperRef));
  exports.Set("bumpGeneration", Napi::Function::New(env, BumpGenerationJs));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
  exports.Set("isChildSubreaper", Napi::Function::New(env, IsChildSubreaper));
}

}  // namespace husk
