// libbz2 (bzip2 kernel payloads). Debian: libbz2-dev.
#include <bzlib.h>
