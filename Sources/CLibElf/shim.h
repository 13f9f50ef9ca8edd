// libelf (elfutils), for reading kernel modules' sections. Debian: libelf-dev.
#include <libelf.h>
#include <gelf.h>
