/** husk's version, printed by `husk --version` and `containerd-shim-husk-v2 -v`. */
export const VERSION = "0.1.0";
