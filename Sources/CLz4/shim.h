// liblz4 (lz4 kernel payloads, in the kernel's legacy frame format). Debian: liblz4-dev.
#include <lz4.h>
