// libsystemd's sd-bus: systemd's manager and unit properties over D-Bus (boot report's
// systemd phases and units). Debian: libsystemd-dev.
#include <systemd/sd-bus.h>
