// libkmod (kmod's library: the modules directory and its indexes, loaded modules,
// .modinfo and signature fields). Debian: libkmod-dev.
#include <libkmod.h>
