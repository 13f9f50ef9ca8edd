#ifndef KK_SHIM_SHIM_LINUX_KERNEL_H
#define KK_SHIM_SHIM_LINUX_KERNEL_H
#include <linux/types.h>
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
#endif
