// libzstd (.ko.zst modules and zstd kernel payloads). Debian: libzstd-dev.
#include <zstd.h>
