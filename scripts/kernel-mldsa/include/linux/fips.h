#ifndef KK_SHIM_SHIM_LINUX_FIPS_H
#define KK_SHIM_SHIM_LINUX_FIPS_H
#define fips_enabled 0
#endif
