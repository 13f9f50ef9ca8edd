/* A network driver's own counters, as `ethtool -S` reads them (ETHTOOL_GSTATS through
 * the SIOCETHTOOL ioctl, which Swift cannot call: ioctl is variadic). */
#ifndef KERNELKIT_ETHTOOL_STATS_H
#define KERNELKIT_ETHTOOL_STATS_H
#include <stdint.h>

typedef void (*kk_ethtool_stat_fn)(const char *name, uint64_t value, void *context);

/* Calls `fn` for each counter of interface `ifname`, in the driver's order. Returns 0,
 * or an errno (ENODEV no such interface, EOPNOTSUPP the driver has no statistics). */
int kk_ethtool_stats(const char *ifname, kk_ethtool_stat_fn fn, void *context);
#endif
