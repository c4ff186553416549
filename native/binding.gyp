{
  "targets": [
    {
      "target_name": "husk",
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/reaper.cc",
        "src/spawn.cc",
        "src/fd.cc",
        "src/console_socket.cc",
        "src/eventfd_watch.cc",
        "src/mount.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]
    }
  ]
}
