// Entry point of husk's native addon (husk.node).
#include "common.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  husk::InitReaper(env, exports);
  husk::InitSpawn(env, exports);
  husk::InitFd(env, exports);
  husk::InitConsoleSocket(env, exports);
  husk::InitEventfdWatch(env, exports);
  husk::InitMount(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(husk, Init)
