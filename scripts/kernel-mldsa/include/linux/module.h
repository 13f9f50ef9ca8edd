#ifndef KK_SHIM_SHIM_LINUX_MODULE_H
#define KK_SHIM_SHIM_LINUX_MODULE_H
#include <linux/export.h>
#define MODULE_DESCRIPTION(x)
#define MODULE_LICENSE(x)
#endif
