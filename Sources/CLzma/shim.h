// liblzma (xz and legacy lzma: .ko.xz modules and kernel payloads). Debian: liblzma-dev.
#include <lzma.h>
