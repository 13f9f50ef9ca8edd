// zlib (gzip: .ko.gz modules, /proc/config.gz, gzip kernel payloads). Debian: zlib1g-dev.
#include <zlib.h>
