// spawn: vfork-style clone + execve with an fd map.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace husk {
namespace {

constexpr int kSourceUnset = -1;    // fd i is closed in the child
constexpr int kSourceDevNull = -2;  // fd i is /dev/null (opened once in the parent)
constexpr size_t kChildStackBytes = 256 * 1024;

// Where the child failed; the parent turns this into a typed error.
enum Stage : int { kStageNone = 0, kStageFd, kStageSetsid, kStageSetpgid, kStagePdeathsig, kStageChdir, kStageExec };

const char* StageName(int stage) {
  switch (stage) {
    case kStageFd: return "fd";
    case kStageSetsid: return "setsid";
    case kStageSetpgid: return "setpgid";
    case kStagePdeathsig: return "pdeathsig";
    case kStageChdir: return "chdir";
    case kStageExec: return "exec";
    default: return "unknown";
  }
}

// Everything the child needs, prepared by the parent before clone(). The child shares our memory
// (CLONE_VM) and only reads this, except `err`/`stage`, through which it reports a failure: the
// parent is suspended (CLONE_VFORK) until the child has exec'd or exited, so reading them after
// clone() returns is race-free.
struct ChildPlan {
  const char* path;
  char* const* argv;
  char* const* envp;
  const char* cwd;  // nullptr: inherit
  const int* sources;  // sources[i] becomes fd i
  int* moved;          // scratch, same length
  int count;
  bool setsid;
  bool setpgid;
  int pdeathsig;  // 0: none
  pid_t parent;
  volatile int err;
  volatile int stage;
};

[[noreturn]] void ChildFail(ChildPlan* plan, int stage) {
  plan->err = errno;
  plan->stage = stage;
  _exit(127);
}

// The child. Only async-signal-safe syscalls, no allocation, no locks:
//   rt_sigaction(SIG_DFL) for 1..NSIG-1 (except SIGKILL/SIGSTOP) while all signals are still blocked
//   → setsid() or setpgid(0, 0) → prctl(PR_SET_PDEATHSIG) + getppid() check → chdir(cwd)
//   → for each mapped source: fcntl(F_DUPFD_CLOEXEC, count) (moves it above every target, so no
//     dup2 below can clobber a source that is still needed) → dup2(moved, i) / close(i) for holes
//   → close_range(count, ~0U, 0) → sigprocmask(SIG_SETMASK, empty) → execve(path).
// fd ownership: all fds touched are the child's own copies (no CLONE_FILES); the parent's table is
// untouched.
int ChildMain(void* arg) {
  auto* plan = static_cast<ChildPlan*>(arg);

  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, nullptr);  // EINVAL for libc-reserved signals is expected and harmless
  }

  if (plan->setsid && setsid() < 0) ChildFail(plan, kStageSetsid);
  if (!plan->setsid && plan->setpgid && setpgid(0, 0) < 0) ChildFail(plan, kStageSetpgid);

  if (plan->pdeathsig != 0) {
    if (prctl(PR_SET_PDEATHSIG, plan->pdeathsig, 0, 0, 0) < 0) ChildFail(plan, kStagePdeathsig);
    if (getppid() != plan->parent) _exit(127);  // parent already gone: the signal would never come
  }

  if (plan->cwd != nullptr && chdir(plan->cwd) < 0) ChildFail(plan, kStageChdir);

  for (int i = 0; i < plan->count; i++) {
    plan->moved[i] = -1;
    if (plan->sources[i] < 0) continue;
    int moved = fcntl(plan->sources[i], F_DUPFD_CLOEXEC, plan->count);
    if (moved < 0) ChildFail(plan, kStageFd);
    plan->moved[i] = moved;
  }
  for (int i = 0; i < plan->count; i++) {
    if (plan->moved[i] >= 0) {
      if (dup2(plan->moved[i], i) < 0) ChildFail(plan, kStageFd);  // dup2 clears FD_CLOEXEC on i
    } else {
      close(i);
    }
  }
  if (syscall(SYS_close_range, static_cast<unsigned>(plan->count), ~0U, 0U) < 0) {
    struct rlimit limit;
    int max = 65536;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) max = static_cast<int>(limit.rlim_cur);
    for (int fd = plan->count; fd < max; fd++) close(fd);
  }

  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);

  execve(plan->path, plan->argv, plan->envp);
  ChildFail(plan, kStageExec);
}

// One child stack for all spawns: spawns are serialised by the generation mutex (BeginSpawn), and a
// CLONE_VFORK child is done with its stack by the time clone() returns.
void* ChildStack() {
  static void* stack = nullptr;
  if (stack == nullptr) {
    void* mem = mmap(nullptr, kChildStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (mem == MAP_FAILED) return nullptr;
    stack = mem;
  }
  return stack;
}

std::vector<std::string> StringArray(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of strings");
  Napi::Array array = value.As<Napi::Array>();
  std::vector<std::string> out;
  out.reserve(array.Length());
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) throw Napi::TypeError::New(env, std::string(what) + " must be an array of strings");
    std::string s = item.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) throw Napi::TypeError::New(env, std::string(what) + " must not contain NUL");
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<char*> CStringArray(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// spawn(path, argv, envp, cwd | null, sources: number[], setsid, setpgid, pdeathsig) → {pid, generation}
// sources[i]: an fd of ours to become fd i of the child, -1 = leave closed, -2 = /dev/null.
// Syscalls (parent): open("/dev/null", O_RDWR|O_CLOEXEC) when needed → pthread_sigmask(block all)
// → [generation mutex] clone(CLONE_VM|CLONE_VFORK|SIGCHLD) [unlock] → restore mask → close(/dev/null).
// fd ownership: caller fds are only read (duplicated in the child); the /dev/null fd is ours and
// closed before returning. Exec failures throw an errno error with `stage`, `pid` and `generation`
// (the failed child exits 127 and is reaped like any other; JS swallows that exit).
//
// Ordering invariant: the reaper thread may reap the child before this function even returns. That
// is harmless: exits are dispatched on the JS thread, which is busy running this call and the
// caller's synchronous subscription, so the waiter always exists before the exit is dispatched.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  std::vector<std::string> argv_strings = StringArray(env, info[1], "argv");
  std::vector<std::string> env_strings = StringArray(env, info[2], "envp");
  std::string cwd;
  bool has_cwd = info[3].IsString();
  if (has_cwd) cwd = info[3].As<Napi::String>().Utf8Value();
  if (!info[4].IsArray()) throw Napi::TypeError::New(env, "sources must be an array of numbers");
  Napi::Array source_array = info[4].As<Napi::Array>();
  std::vector<int> sources(source_array.Length());
  bool needs_dev_null = false;
  for (uint32_t i = 0; i < source_array.Length(); i++) {
    Napi::Value item = source_array.Get(i);
    if (!item.IsNumber()) throw Napi::TypeError::New(env, "sources must be an array of numbers");
    sources[i] = item.As<Napi::Number>().Int32Value();
    if (sources[i] == kSourceDevNull) needs_dev_null = true;
    if (sources[i] < kSourceDevNull) throw Napi::TypeError::New(env, "invalid source fd");
  }
  bool want_setsid = info[5].ToBoolean().Value();
  bool want_setpgid = info[6].ToBoolean().Value();
  int pdeathsig = ArgInt(info, 7, "pdeathsig");

  std::vector<char*> argv = CStringArray(argv_strings);
  std::vector<char*> envp = CStringArray(env_strings);
  std::vector<int> moved(sources.size(), -1);

  int dev_null = -1;
  if (needs_dev_null) {
    dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (dev_null < 0) ThrowErrno(env, "open", "/dev/null");
    for (auto& s : sources) {
      if (s == kSourceDevNull) s = dev_null;
    }
  }

  ChildPlan plan{};
  plan.path = path.c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.cwd = has_cwd ? cwd.c_str() : nullptr;
  plan.sources = sources.data();
  plan.moved = moved.data();
  plan.count = static_cast<int>(sources.size());
  plan.setsid = want_setsid;
  plan.setpgid = want_setpgid;
  plan.pdeathsig = pdeathsig;
  plan.parent = getpid();
  plan.err = 0;
  plan.stage = kStageNone;

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  unsigned long long generation = BeginSpawn();
  void* stack = ChildStack();  // under the generation mutex, like every use of the shared stack
  pid_t pid = -1;
  int clone_err = errno;
  if (stack != nullptr) {
    pid = clone(ChildMain, static_cast<char*>(stack) + kChildStackBytes, CLONE_VM | CLONE_VFORK | SIGCHLD, &plan);
    clone_err = errno;
  }
  EndSpawn();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (dev_null >= 0) close(dev_null);

  if (pid < 0) throw ErrnoError(env, clone_err, stack == nullptr ? "mmap" : "clone");
  if (plan.stage != kStageNone) {
    const int stage = plan.stage;
    std::string detail = stage == kStageExec ? path : stage == kStageChdir ? cwd : "";
    Napi::Error error = ErrnoError(env, plan.err, StageName(stage), detail);
    error.Set("stage", Napi::String::New(env, StageName(stage)));
    error.Set("pid", Napi::Number::New(env, pid));
    error.Set("generation", Napi::Number::New(env, static_cast<double>(generation)));
    throw error;
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, pid));
  result.Set("generation", Napi::Number::New(env, static_cast<double>(generation)));
  return result;
}

}  // namespace

void InitSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("spawn", Napi::Function::New(env, Spawn));
}

}  // namespace husk
